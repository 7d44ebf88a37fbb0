"""Run the lab's notebooks headless with papermill, in numeric order, and record the run.

    python -m labtools.pipeline run --profile quick       # what `make run-all` calls
    python -m labtools.pipeline run --profile full --only 04_gan_mnist   # one run (see EXTRA_RUNS)
    python -m labtools.pipeline prepare --profile smoke --out DIR   # parameterised copies for nbval

Each run writes `outputs/run.json` (`outputs/run_NAME.json` for `--only NAME`): profile, device,
git commit, library versions, the data sources the notebooks reported, each notebook's wall time
and whether it trained anything (or only loaded checkpoints). Before it starts it prints each
notebook's expected time; while a notebook runs, the terminal shows its section, its training's
epoch and the time left (`labtools.progress`).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from labtools import subprocess_env
from labtools.progress import ProgressWatcher, estimate_table, record_notebook_time
from labtools.provenance import RESULT_CODE
from labutils.profiles import EXTRA_RUNS, PROFILES, parameters
from labutils.runtime import PROGRESS_ENV, outputs_dir, repo_root

DEFAULT_KERNEL = "generative-lab"
# The kernel's own start-up notices (e.g. that it talks to papermill over local TCP) are not the
# run's news: only its errors reach the terminal.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR"]


def notebooks_in_order(directory: Path | None = None) -> list[Path]:
    """The numbered notebooks (`NN_name.ipynb`) that exist, in numeric order."""
    directory = directory or repo_root() / "notebooks"
    return sorted(directory.glob("[0-9][0-9]_*.ipynb"))


def git_commit() -> str:
    """HEAD's hash, with "-dirty" when the code that makes the results (provenance.RESULT_CODE: labutils/,
    notebooks/) has uncommitted changes, not when only docs do (`make readme` leaves those to commit);
    "unknown" outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo_root(), capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *RESULT_CODE],
                               cwd=repo_root(), capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict[str, str]:
    import numpy
    import torch
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "numpy": numpy.__version__}


def environment() -> dict:
    """{"device": ..., "versions": ...}, read in a short-lived process: the runner itself never
    imports torch, so all of a run's memory but ~60 MB is the notebooks' kernel."""
    code = ("import json; from labtools.pipeline import versions; from labutils.runtime import describe_device, "
            "get_device; print(json.dumps({'device': describe_device(get_device('auto')), 'versions': versions()}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=subprocess_env())
    return json.loads(out.stdout.strip().splitlines()[-1])


def _notebook_report(stem: str) -> dict:
    """What a notebook recorded about itself in its metrics file (device, data source)."""
    path = outputs_dir("metrics") / f"{stem}.json"
    if not path.exists():
        return {}
    record = json.loads(path.read_text())
    return {k: record[k] for k in ("device", "data_source") if k in record}


def prepare(profile: str, out_dir: Path) -> list[Path]:
    """Write each notebook with the profile's parameters injected, not executed (for nbval)."""
    import papermill as pm

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for notebook in notebooks_in_order():
        target = out_dir / notebook.name
        pm.execute_notebook(str(notebook), str(target), parameters=parameters(profile, notebook.stem),
                            prepare_only=True, progress_bar=False)
        written.append(target)
    return written


def all_runs() -> dict[str, Path]:
    """{run name: notebook}: each numbered notebook under its stem, then the EXTRA_RUNS of those notebooks."""
    notebooks = {p.stem: p for p in notebooks_in_order()}
    return {**notebooks, **{name: notebooks[base] for name, (base, _) in EXTRA_RUNS.items() if base in notebooks}}


def runs_named(names: list[str] | None) -> dict[str, Path]:
    """{run name: notebook} for `names`, stems or EXTRA_RUNS names; None: every numbered notebook."""
    if names is None:
        return {p.stem: p for p in notebooks_in_order()}
    known = all_runs()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"No run named {', '.join(unknown)}: choose from {', '.join(sorted(known))}.")
    return {name: known[name] for name in names}


def _failure(err: Exception, executed: Path, cell_timeout: int | None) -> tuple[int | None, str]:
    """(the failed cell's number as the executed notebook shows it, what went wrong)."""
    import nbformat
    from nbclient.exceptions import CellTimeoutError

    if not isinstance(err, CellTimeoutError):
        return err.exec_count, f"{err.ename}: {err.evalue}"
    # A timeout does not say which cell: the last one that started.
    cells = nbformat.read(executed, as_version=4).cells if executed.exists() else []
    counts = [c.get("execution_count") for c in cells if c.cell_type == "code" and c.get("execution_count")]
    return (counts[-1] if counts else None), f"ran past the cell time limit of {cell_timeout} s"


def run_all(profile: str, kernel: str = DEFAULT_KERNEL, only: list[str] | None = None,
            cell_timeout: int | None = None) -> int:
    """Execute every notebook (or the runs `only` names, in that order); stop at the first failure,
    naming the notebook and cell; a cell that runs longer than `cell_timeout` seconds is a failure.
    Returns an exit code."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError
    from papermill.exceptions import PapermillExecutionError

    runs = runs_named(only)
    executed_dir = outputs_dir("notebooks")
    record = {
        "profile": profile,
        **environment(),
        "git_commit": git_commit(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cell_timeout": cell_timeout,
        "notebooks": {},
        "status": "running",
    }
    run_json = outputs_dir() / ("run.json" if only is None else f"run_{'+'.join(only)}.json")
    print(estimate_table(profile, record["device"], list(runs)), flush=True)
    started = time.perf_counter()
    for name, notebook in runs.items():
        target = executed_dir / f"{name}.ipynb"
        print(f"==> {target.name} (profile {profile})", flush=True)
        t0 = time.perf_counter()
        entry: dict = {"output": str(target.relative_to(repo_root()) if target.is_relative_to(repo_root()) else target)}
        progress = outputs_dir("progress") / f"{name}.jsonl"
        progress.unlink(missing_ok=True)
        os.environ[PROGRESS_ENV] = str(progress)  # the kernel inherits it
        watcher = ProgressWatcher(target, progress)
        try:
            with watcher:
                pm.execute_notebook(str(notebook), str(target), parameters=parameters(profile, name),
                                    kernel_name=kernel, cwd=str(notebook.parent), progress_bar=False,
                                    extra_arguments=KERNEL_ARGUMENTS, execution_timeout=cell_timeout)
        except (PapermillExecutionError, CellTimeoutError) as err:
            cell, what = _failure(err, target, cell_timeout)
            entry.update(status="failed", seconds=round(time.perf_counter() - t0, 1), error=f"cell {cell}: {what}")
            record["notebooks"][name] = entry
            record["status"] = f"failed in {target.name}"
            record["total_seconds"] = round(time.perf_counter() - started, 1)
            run_json.write_text(json.dumps(record, indent=2))
            print(f"\nFAILED: {target.name}, cell [{cell}]: {what}\n"
                  f"The executed notebook, with the traceback, is at {target}.", file=sys.stderr)
            return 1
        entry.update(status="ok", seconds=round(time.perf_counter() - t0, 1), trained=watcher.trained,
                     **_notebook_report(name))
        record["notebooks"][name] = entry
        record_notebook_time(profile, record["device"], name, entry["seconds"], watcher.trained)
        print(f"<== {target.name} done in {entry['seconds']:.0f} s", flush=True)
    record["data_sources"] = sorted({e["data_source"] for e in record["notebooks"].values() if "data_source" in e})
    record["total_seconds"] = round(time.perf_counter() - started, 1)
    record["status"] = "ok"
    run_json.write_text(json.dumps(record, indent=2))
    print(f"{len(runs)} notebook(s) ran in {record['total_seconds']:.0f} s; record in {run_json}.")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute every notebook into outputs/notebooks/")
    run.add_argument("--profile", default="full", choices=list(PROFILES))
    run.add_argument("--kernel", default=DEFAULT_KERNEL)
    run.add_argument("--only", nargs="+", metavar="NAME",
                     help=f"run these only: notebook stems or extra runs ({', '.join(EXTRA_RUNS)})")
    run.add_argument("--cell-timeout", type=int, default=None, metavar="SECONDS",
                     help="fail a cell that runs longer than this (make test: 900; default: no limit)")
    prep = sub.add_parser("prepare", help="write parameterised, unexecuted copies (for nbval)")
    prep.add_argument("--profile", default="smoke", choices=list(PROFILES))
    prep.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "run":
        try:
            runs_named(args.only)  # an unknown name is refused before anything runs
        except ValueError as err:
            parser.error(str(err))
        return run_all(args.profile, args.kernel, args.only, args.cell_timeout)
    for path in prepare(args.profile, args.out):
        print(f"prepared {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
