"""What a headless run shows in the terminal: each notebook's expected time before it starts, and,
while it runs, its section, its training's epoch and the time left.

The notebooks' own outputs stay as they are: the training engine writes its progress to a side
file ($LAB_PROGRESS_FILE, see `runtime.report_progress`), and papermill keeps the executed
notebook on disk up to the cell that runs; a thread of `make run-all` reads both.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import TextIO

from labutils.profiles import REFERENCE_DEVICE, REFERENCE_SECONDS
from labutils.runtime import outputs_dir

REPORT_EVERY_S = 60  # a line at least this often, even when nothing changed
EPOCH_LINES_PER_REPORT = 4  # a new epoch alone is shown at most this often per REPORT_EVERY_S (every 15 s)
POLL_S = 2.0  # how often the files are read
TIMES_FILE = "notebook_times.json"  # from-scratch wall times of earlier runs, per device and profile


def clock(seconds: float) -> str:
    """1:05:09, 5:09 or 0:09."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def duration(seconds: float) -> str:
    """45 s, 12 min, 3.3 h: a time in the unit a person reads it in."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 90 * 60 else f"{seconds / 3600:.1f} h"


# --- While a notebook runs ----------------------------------------------------------------------


def running_section(executed: Path) -> str | None:
    """The last Markdown heading at or above the cell papermill runs now, in the executed notebook."""
    try:
        cells = json.loads(executed.read_text())["cells"]
    except (OSError, ValueError, KeyError):  # not written yet, or caught mid-write
        return None
    heading = None
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            lines = "".join(cell.get("source", "")).splitlines()
            heading = next((line.lstrip("#").strip() for line in lines if line.startswith("#")), heading)
        elif cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
            return heading
    return None


def read_events(progress: Path) -> list[dict]:
    """The training engine's events so far (see `runtime.report_progress`)."""
    try:
        lines = progress.read_text().splitlines()
    except OSError:
        return []
    events = []
    for line in lines:
        try:
            events.append(json.loads(line))
        except ValueError:  # a line being written
            pass
    return events


def describe(event: dict | None, now: float) -> str:
    """One event as a person reads it: which run, which epoch, how long it still takes."""
    if event is None:
        return ""
    run, epoch, epochs = event["run"], event["epoch"], event["epochs"]
    if event["status"] == "loaded":
        return f"{run}: loaded ({epochs} epochs)"
    if epoch >= epochs:
        return f"{run}: trained ({epochs} epochs)"
    if "eta_seconds" not in event:
        return f"{run}: training, epoch {epoch + 1}/{epochs}"
    left = max(0.0, event["eta_seconds"] - (now - event["time"]))
    return f"{run}: epoch {epoch}/{epochs} ({event['epoch_seconds']:.1f} s each), about {clock(left)} left"


class ProgressWatcher:
    """While active, prints a line whenever the notebook's section or training run changes, a new
    epoch at most four times per `every` seconds (fast epochs would flood the log), and at least once
    every `every` seconds. `trained` says afterwards whether any epoch was trained."""

    def __init__(self, executed: Path, progress: Path, every: float = REPORT_EVERY_S, poll: float = POLL_S,
                 out: TextIO | None = None):
        self.executed, self.progress, self.every, self.poll = executed, progress, every, poll
        self.out = out or sys.stdout
        self.trained = False
        self._section = "starting"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ProgressWatcher":
        self._started = time.time()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.trained = any("epoch_seconds" in e for e in read_events(self.progress))

    def look(self, now: float) -> tuple[tuple, int | None, str]:
        """(what is going on: section, run and whether it finished; the epoch; the line to print)."""
        events = read_events(self.progress)
        event = events[-1] if events else None
        self._section = running_section(self.executed) or self._section  # kept between two cells
        state = " | ".join(filter(None, [self._section, describe(event, now)]))
        finished = event is not None and (event["status"] == "loaded" or event["epoch"] >= event["epochs"])
        major = (self._section, event and event["run"], finished)
        return major, event and event["epoch"], f"    [{clock(now - self._started)}] {state}"

    def _watch(self) -> None:
        shown, shown_epoch, last_print = None, None, 0.0
        while not self._stop.wait(self.poll):
            now = time.time()
            major, epoch, text = self.look(now)
            quiet_for = now - last_print
            if (major != shown or quiet_for >= self.every
                    or (epoch != shown_epoch and quiet_for >= self.every / EPOCH_LINES_PER_REPORT)):
                print(text, file=self.out, flush=True)
                shown, shown_epoch, last_print = major, epoch, now


# --- Before a run -------------------------------------------------------------------------------


def _times_path() -> Path:
    return outputs_dir() / TIMES_FILE


def record_notebook_time(profile: str, device: str, name: str, seconds: float, trained: bool) -> None:
    """Keep a notebook's wall time for the next run's estimate; only runs that trained count (a run
    that loaded every checkpoint says nothing about what training takes)."""
    if not trained:
        return
    path = _times_path()
    times = json.loads(path.read_text()) if path.exists() else {}
    times.setdefault(f"{device} | {profile}", {})[name] = round(seconds, 1)
    path.write_text(json.dumps(times, indent=2))


def expected_seconds(profile: str, device: str, name: str) -> tuple[float | None, str]:
    """(seconds, where the number comes from) for one notebook, from scratch; None when unknown."""
    path = _times_path()
    times = json.loads(path.read_text()) if path.exists() else {}
    if name in times.get(f"{device} | {profile}", {}):
        return times[f"{device} | {profile}"][name], "an earlier run here"
    if device == REFERENCE_DEVICE and name in REFERENCE_SECONDS.get(profile, {}):
        return REFERENCE_SECONDS[profile][name], "measured on the lab's 2-core CPU"
    return None, "no run on this device yet"


def estimate_table(profile: str, device: str, names: list[str]) -> str:
    """What `make run-all` prints before it starts: each notebook's expected time, the total, and
    what the quick profile would take when the total is hours."""
    lines = [f"Expected time of PROFILE={profile} on {device}, training from scratch:"]
    total, known = 0.0, True
    for name in names:
        seconds, source = expected_seconds(profile, device, name)
        known &= seconds is not None
        total += seconds or 0
        lines.append(f"  {name:<16}{duration(seconds) if seconds is not None else '?':>8}   ({source})")
    if known:
        lines.append(f"  {'in all':<16}{duration(total):>8}")
    if known and total >= 3600 and profile != "quick":
        quick = [expected_seconds("quick", device, name)[0] for name in names]
        hint = (f"PROFILE=quick takes about {duration(sum(quick))}" if None not in quick
                else "PROFILE=quick takes a fraction of it")
        lines.append(f"That is hours on this device: {hint}.")
    lines.append("Trainings whose checkpoints are already in outputs/checkpoints/ are loaded instead, in seconds.")
    return "\n".join(lines)
