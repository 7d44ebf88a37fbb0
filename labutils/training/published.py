"""Trained checkpoints that the lab's maintainers published: downloaded instead of trained.

`published_checkpoints.json`, beside this module (so a pip install, Colab's included, has it), maps a
run's id (its config and code fingerprint: the name of its file under `runtime.checkpoint_path`) to a
file a maintainer uploaded (`make publish-checkpoints`, docs/checkpoints.md): its URLs, tried in order,
its size and sha256, the commit and profile of the run that made it, and its headline metric. Where the
engine would train a run that the registry lists and no checkpoint of it is here, `fetch` downloads it,
checks size and sha256, opens it with `torch.load(weights_only=True)` (plain tensors and containers:
no code of the file's runs), asks the engine whether it is a finished checkpoint of this run, and only
then renames it into place. Any failure is one line, naming the URL and the problem, and the run
trains as it would have. A learner's edited code has another fingerprint, so another run id, which no
registry lists: it trains.

urllib and hashlib rather than pooch (which Colab has): the download is one streamed GET, and what
pooch would add, a hash check and a temporary file, is a few lines here; what it lacks (several URLs
in turn, the size known before the transfer ends, the checkpoint checked before it is renamed, one line
per failure rather than its exceptions) would be ours either way. So no dependency is added.
"""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable

import torch
from tqdm.auto import tqdm

from labutils.runtime import write_atomically

REGISTRY = Path(__file__).with_name("published_checkpoints.json")
REGISTRY_ENV = "LAB_CHECKPOINT_REGISTRY"  # another registry file (the tests', a fork's)
DOWNLOAD_ENV = "LAB_CHECKPOINT_DOWNLOAD"  # "0" (or false/no/off): never download, train
FORMAT = 1  # the registry's layout; a reader of another refuses it
TIMEOUT_S = 20  # per connection attempt and per read: an offline machine trains within seconds
CHUNK = 1 << 20
FIELDS = {"urls": list, "sha256": str, "size": int, "commit": str, "profile": str, "metric": dict}


class Refused(Exception):
    """A published file that is not used, and why, in words."""


def registry_path() -> Path:
    return Path(os.environ[REGISTRY_ENV]).expanduser() if os.environ.get(REGISTRY_ENV) else REGISTRY


def check_entry(run_id: str, entry: Any) -> None:
    """Raise ValueError naming what is wrong with one registry entry."""
    if not isinstance(entry, dict):
        raise ValueError(f"{run_id}: an entry is an object, not {type(entry).__name__}")
    for name, kind in FIELDS.items():
        if not isinstance(entry.get(name), kind):
            raise ValueError(f"{run_id}: '{name}' missing or not {kind.__name__}")
    if not entry["urls"] or not all(isinstance(u, str) and u.startswith(("https://", "http://")) for u in entry["urls"]):
        raise ValueError(f"{run_id}: 'urls' must list at least one http(s) URL")
    if not re.fullmatch(r"[0-9a-f]{64}", entry["sha256"]):
        raise ValueError(f"{run_id}: 'sha256' must be 64 lowercase hex digits")
    if entry["size"] <= 0:
        raise ValueError(f"{run_id}: 'size' must be a positive number of bytes")


def read_registry(path: Path | None = None) -> dict[str, dict]:
    """{run id: entry} of the registry file (`registry_path()`: the committed one unless
    $LAB_CHECKPOINT_REGISTRY names another); ValueError where it is not one."""
    path = path or registry_path()
    document = json.loads(Path(path).read_text())
    if not isinstance(document, dict) or document.get("format") != FORMAT \
            or not isinstance(document.get("checkpoints"), dict):
        raise ValueError(f"{path} is not a registry of format {FORMAT} ({{'format': {FORMAT}, 'checkpoints': {{...}}}})")
    for run_id, entry in document["checkpoints"].items():
        check_entry(run_id, entry)
    return document["checkpoints"]


def download_allowed() -> bool:
    """Allowed unless $LAB_CHECKPOINT_DOWNLOAD is 0/false/no/off (`make test` sets it)."""
    return os.environ.get(DOWNLOAD_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def published(run_id: str) -> dict | None:
    """The registry's entry for `run_id` where downloads are allowed and it has one, else None."""
    if not download_allowed():
        return None
    try:
        return read_registry().get(run_id)
    except (OSError, ValueError):
        return None


def describe_metric(metric: dict) -> str:
    return ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metric.items())


def fetch(path: Path, check: Callable[[dict], str | None], progress: bool = True) -> bool:
    """Download the published checkpoint of run `path.stem` to `path` where the registry lists it; True
    when `path` now holds it. `check(state)` says why a verified file is not a finished checkpoint of this
    run (None: it is one). Each URL that fails is one printed line; False: nothing was written, train."""
    run_id = path.stem
    try:
        entry = read_registry().get(run_id)
    except (OSError, ValueError) as err:
        print(f"Published checkpoints not read ({err}); training {run_id} here.", flush=True)
        return False
    if entry is None:
        return False
    if not download_allowed():
        print(f"{run_id} is published, but {DOWNLOAD_ENV}=0: training it here.", flush=True)
        return False
    for i, url in enumerate(entry["urls"]):
        try:
            write_atomically(path, lambda partial: _download_and_check(url, partial, entry, check, progress))
        except Refused as why:
            problem = str(why)
        except urllib.error.HTTPError as err:  # before URLError, its base
            problem = f"HTTP {err.code} {err.reason}"
        except urllib.error.URLError as err:
            problem = f"no connection ({err.reason})"
        except (OSError, http.client.HTTPException) as err:  # a reset, a timeout, a full disk
            problem = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        else:
            made = "; ".join(filter(None, [f"{entry['profile']} profile", describe_metric(entry["metric"])]))
            print(f"Downloaded {path.name} ({entry['size'] / 1e6:.1f} MB, sha256 verified) from {url}: trained at "
                  f"{entry['commit'][:12]} ({made}).", flush=True)
            return True
        then = "trying the next URL" if i + 1 < len(entry["urls"]) else "training it here instead"
        print(f"Published checkpoint not used: {url}: {problem}; {then}.", flush=True)
    return False


def _download_and_check(url: str, partial: Path, entry: dict, check: Callable[[dict], str | None],
                        progress: bool) -> None:
    """Stream `url` into `partial`, hashing it; Refused where its size, hash or content is not the entry's."""
    size, received, digest = entry["size"], 0, hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "generative-lab"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
        offered = response.headers.get("Content-Length")
        if offered is not None and offered.isdigit() and int(offered) != size:
            raise Refused(f"the server offers {int(offered)} bytes, the registry says {size}")
        with tqdm(total=size, unit="B", unit_scale=True, desc=f"download {partial.name.split('.')[0]}",
                  leave=False, disable=not progress) as bar:
            try:
                while chunk := response.read(CHUNK):
                    received += len(chunk)
                    if received > size:
                        raise Refused(f"more than the registry's {size} bytes")
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            except http.client.IncompleteRead as err:
                received += len(err.partial)
                raise Refused(f"the transfer stopped after {received} of {size} bytes") from None
    if received != size:
        raise Refused(f"{received} bytes received, the registry says {size}")
    if digest.hexdigest() != entry["sha256"]:
        raise Refused(f"sha256 {digest.hexdigest()[:16]}... is not the registry's {entry['sha256'][:16]}...")
    try:
        state = torch.load(partial, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises UnpicklingError, RuntimeError or zipfile's errors for a foreign file
        raise Refused(f"torch.load(weights_only=True) refuses it: {_reason(err)}") from None
    problem = check(state)
    if problem is not None:
        raise Refused(problem)


def _reason(err: Exception) -> str:
    """The point of torch.load's error, which opens with paragraphs of advice: what the unpickler refused
    (a class, an opcode), else its first sentence."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err)).strip()  # no terminal colours
    refused = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    reason = (refused.group(1) if refused else text).split(". ")[0].splitlines()
    return reason[0][:160] if reason and reason[0] else type(err).__name__
