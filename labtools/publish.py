"""make publish-checkpoints: the last run's finished checkpoints, packed for a maintainer to upload, and
their registry entries.

The last run is the newest run record in outputs/ (run.json, run_NAME.json: its commit, profile and
start). Its checkpoints are those in outputs/checkpoints/ written since it started (an older one's commit
and profile are not known) that are finished (as many epochs as their config asks). Each is copied as it
is, the engine's own file, to outputs/publish/<run id>.pt: one plain file per run, which the download
side opens with `torch.load(weights_only=True)` and puts where the engine looks, with nothing to unpack.
Its entry (the URLs under each --base-url, size, sha256, commit, profile, headline metric) goes to
outputs/publish/registry.json, and into the committed registry only with --write-registry, once the
files are uploaded (docs/checkpoints.md).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from datetime import datetime
from pathlib import Path

import torch

from labtools.notebook_setup import repository_url
from labtools.provenance import SLACK, code_age, run_records
from labutils.runtime import outputs_dir, repo_root, write_atomically
from labutils.training import published

# The headline of a run's last epoch, first found: the classifier's test accuracy, the test pass's loss (AE, VAE),
# the GAN's in-training distance to real images (it has no test pass).
HEADLINE = ("test_accuracy", "test_loss", "swd")


def last_run(outputs: Path) -> tuple[str, dict]:
    """(file name, record) of the newest run record in `outputs`; SystemExit where there is none."""
    records = run_records(outputs)
    if not records:
        raise SystemExit(f"No run record (run.json, run_NAME.json) in {outputs}: run `make run-all` first.")
    name = max(records, key=lambda n: records[n].get("started", ""))
    return name, records[name]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def headline(state: dict, recorded_by: str | None) -> dict:
    """The run's headline metric from its last epoch, its epochs, and the notebook whose metrics file
    lists it (where one does)."""
    last = state["history"]["epochs"][-1]
    key = next((key for key in HEADLINE if key in last), None)
    metric = {key: round(float(last[key]), 6)} if key else {}
    metric["epochs"] = len(state["history"]["epochs"])
    if recorded_by:
        metric["notebook"] = recorded_by
    return metric


def recorded_checkpoints(outputs: Path) -> dict[str, str]:
    """{checkpoint file name: notebook} for every checkpoint a metrics file lists (01's and 02's seeds)."""
    named = {}
    for path in sorted((outputs / "metrics").glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except ValueError:
            continue
        for name in record.get("checkpoints") or []:
            named[name] = record.get("notebook", path.stem)
    return named


def finished_epochs(state: dict) -> int | None:
    """The epochs a checkpoint's config asks for (`num_epochs`, the classifier's `epochs`); None: unknown."""
    config = state.get("config", {})
    wanted = config.get("num_epochs", config.get("epochs"))
    return wanted if isinstance(wanted, int) else None


def pack(outputs: Path, base_urls: list[str] | None = None) -> dict[str, dict]:
    """Copy the last run's finished checkpoints to outputs/publish/ and return their registry entries;
    prints a line for each checkpoint, packed or why not."""
    record_name, record = last_run(outputs)
    commit, profile = record.get("git_commit", "unknown"), record.get("profile", "unknown")
    started = datetime.fromisoformat(record["started"])
    if record.get("status") != "ok":
        print(f"Note: {record_name} says the run's status is {record.get('status')!r}; its finished checkpoints are packed.")
    if commit.endswith("-dirty") or commit == "unknown":
        print(f"Note: the run's commit is {commit!r}: the code that made these files is not a commit of its own.")
    else:
        age = code_age(commit, repo_root())
        if age.state != "current":
            print(f"Note: labutils/ or notebooks/ changed since {commit[:7]} ({age.state}{': ' + age.why if age.why else ''}): "
                  "these run ids are what that code trains, maybe not what HEAD's does.")
    base_urls = base_urls or [f"{repository_url()}/releases/download/checkpoints-{commit.removesuffix('-dirty')[:7]}"]
    recorded = recorded_checkpoints(outputs)
    target = outputs / "publish"
    target.mkdir(parents=True, exist_ok=True)
    entries = {}
    for path in sorted((outputs / "checkpoints").glob("*.pt")):
        written = datetime.fromtimestamp(path.stat().st_mtime, tz=started.tzinfo)
        if written < started - SLACK:
            print(f"  skipped {path.name}: written before the run of {record['started']} ({record_name}) began")
            continue
        state = torch.load(path, map_location="cpu", weights_only=True)
        wanted, epochs = finished_epochs(state), len(state["history"]["epochs"])
        if wanted is None or epochs < wanted:
            print(f"  skipped {path.name}: not finished ({epochs} of {wanted or '?'} epochs)")
            continue
        write_atomically(target / path.name, lambda partial: shutil.copyfile(path, partial))
        run_id = path.stem
        entries[run_id] = {
            "urls": [f"{base.rstrip('/')}/{path.name}" for base in base_urls],
            "sha256": sha256(target / path.name),
            "size": (target / path.name).stat().st_size,
            "commit": commit,
            "profile": profile,
            "metric": headline(state, recorded.get(path.name)),
        }
        published.check_entry(run_id, entries[run_id])
        print(f"  packed {path.name}: {entries[run_id]['size'] / 1e6:.2f} MB, "
              f"{published.describe_metric(entries[run_id]['metric'])}")
    return entries


def write_registry(path: Path, entries: dict[str, dict]) -> Path:
    """`entries` merged into the registry at `path` (a new one where none is), run ids in order."""
    document = json.loads(path.read_text()) if path.exists() else {"format": published.FORMAT, "checkpoints": {}}
    document["checkpoints"] = dict(sorted({**document["checkpoints"], **entries}.items()))
    return write_atomically(path, lambda partial: partial.write_text(json.dumps(document, indent=2) + "\n"))


def _shown(path: Path) -> Path:
    return path.relative_to(repo_root()) if path.is_relative_to(repo_root()) else path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument("--base-url", action="append", dest="base_urls", metavar="URL",
                        help="where the files will be (each file's URL is URL/<run id>.pt); repeat for mirrors, "
                             "tried in order. Default: this repository's release 'checkpoints-<commit>'")
    parser.add_argument("--write-registry", action="store_true",
                        help=f"also merge the entries into {_shown(published.registry_path())} "
                             "(only once the files are uploaded)")
    args = parser.parse_args(argv)
    outputs = outputs_dir()
    entries = pack(outputs, args.base_urls)
    if not entries:
        print(f"No finished checkpoint of the last run in {outputs / 'checkpoints'}: nothing to publish.")
        return 1
    written = write_registry(outputs / "publish" / "registry.json", entries)
    print(f"{len(entries)} checkpoint(s) in {written.parent}; their entries in {written}.")
    if args.write_registry:
        print(f"Entries merged into {_shown(write_registry(published.registry_path(), entries))}: commit it.")
        return 0
    folder = next(iter(entries.values()))["urls"][0].rsplit("/", 1)[0]
    upload = (f" (`gh release create {folder.rsplit('/', 1)[-1]} {written.parent}/*.pt`)"
              if "/releases/download/" in folder else "")
    print(f"Next: upload the .pt files to {folder}/{upload}, then run this again with --write-registry "
          f"(make publish-checkpoints WRITE_REGISTRY=1, the same BASE_URL) and commit "
          f"{_shown(published.registry_path())}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
