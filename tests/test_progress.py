"""What a headless run shows: the section and training progress while a notebook runs, and the
expected times before the run starts."""
import io
import json
import time

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labtools import progress


def _executed(path, running_index):
    """A notebook as papermill leaves it on disk while cell `running_index` runs."""
    cells = [new_markdown_cell("# Title\nintro"), new_code_cell("a = 1"),
             new_markdown_cell("## 2. Training the model"), new_code_cell("train()"),
             new_markdown_cell("## 3. Samples"), new_code_cell("sample()")]
    for i, cell in enumerate(cells):
        if cell.cell_type == "code":
            cell.metadata["papermill"] = {"status": "running" if i == running_index else
                                          ("completed" if i < running_index else "pending")}
    nbformat.write(new_notebook(cells=cells), path)


def test_the_section_is_the_last_heading_above_the_running_cell(tmp_path):
    path = tmp_path / "nb.ipynb"
    _executed(path, running_index=3)
    assert progress.running_section(path) == "2. Training the model"
    _executed(path, running_index=1)
    assert progress.running_section(path) == "Title"
    path.write_text('{"cells": [')  # caught while papermill writes it
    assert progress.running_section(path) is None


def test_an_epoch_event_reads_as_epoch_and_time_left():
    event = {"run": "gan-1", "status": "training", "epoch": 3, "epochs": 10, "epoch_seconds": 6.0,
             "eta_seconds": 42.0, "time": 100.0}
    assert progress.describe(event, now=110.0) == "gan-1: epoch 3/10 (6.0 s each), about 0:32 left"
    assert progress.describe({**event, "epoch": 10}, now=110.0) == "gan-1: trained (10 epochs)"
    assert "loaded" in progress.describe({**event, "status": "loaded"}, now=110.0)


def test_the_watcher_prints_changes_and_at_least_every_interval(tmp_path):
    executed, events = tmp_path / "nb.ipynb", tmp_path / "p.jsonl"
    _executed(executed, running_index=3)
    out = io.StringIO()
    with progress.ProgressWatcher(executed, events, every=0.3, poll=0.05, out=out) as watcher:
        time.sleep(0.2)
        events.write_text(json.dumps({"run": "vae-1", "status": "training", "epoch": 1, "epochs": 2,
                                      "epoch_seconds": 1.0, "eta_seconds": 1.0, "time": time.time()}) + "\n")
        time.sleep(0.8)
    lines = out.getvalue().splitlines()
    assert "2. Training the model" in lines[0] and "vae-1" not in lines[0]
    assert any("vae-1: epoch 1/2" in line for line in lines)
    assert len(lines) >= 3  # the change, then again after each quiet interval
    assert watcher.trained


def test_fast_epochs_do_not_flood_the_log(tmp_path):
    executed, events = tmp_path / "nb.ipynb", tmp_path / "p.jsonl"
    _executed(executed, running_index=3)
    out = io.StringIO()
    with progress.ProgressWatcher(executed, events, every=20, poll=0.02, out=out):
        for epoch in range(1, 30):  # an epoch every 20 ms, all within one quiet interval
            with events.open("a") as f:
                f.write(json.dumps({"run": "ae-1", "status": "training", "epoch": epoch, "epochs": 40,
                                    "epoch_seconds": 0.02, "eta_seconds": 1.0, "time": time.time()}) + "\n")
            time.sleep(0.02)
        time.sleep(0.1)
    lines = out.getvalue().splitlines()
    assert 1 <= len(lines) <= 2 and "ae-1" in lines[-1]  # the section, then the run once


def test_estimates_come_from_an_earlier_run_here_else_the_reference_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    device = progress.REFERENCE_DEVICE
    seconds, source = progress.expected_seconds("full", device, "01_autoencoder")
    assert seconds == progress.REFERENCE_SECONDS["full"]["01_autoencoder"] and "2-core" in source
    assert progress.expected_seconds("full", "cuda (H100)", "01_autoencoder") == (None, "no run on this device yet")
    progress.record_notebook_time("full", "cuda (H100)", "01_autoencoder", 7.0, trained=False)  # loaded only
    assert progress.expected_seconds("full", "cuda (H100)", "01_autoencoder")[0] is None
    progress.record_notebook_time("full", "cuda (H100)", "01_autoencoder", 7.0, trained=True)
    assert progress.expected_seconds("full", "cuda (H100)", "01_autoencoder") == (7.0, "an earlier run here")


def test_a_run_of_hours_says_so_and_what_the_quick_profile_takes(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    names = list(progress.REFERENCE_SECONDS["full"])[:4]
    table = progress.estimate_table("full", progress.REFERENCE_DEVICE, names)
    total = sum(progress.REFERENCE_SECONDS["full"][n] for n in names)
    quick = sum(progress.REFERENCE_SECONDS["quick"][n] for n in names)
    assert total >= 3600 and ["in", "all", *progress.duration(total).split()] in [l.split() for l in table.splitlines()]
    assert f"That is hours on this device: PROFILE=quick takes about {progress.duration(quick)}." in table
    short = progress.estimate_table("smoke", progress.REFERENCE_DEVICE, names)
    assert "hours" not in short


def test_durations_read_in_the_unit_a_person_uses():
    assert [progress.duration(s) for s in (45, 600, 12000)] == ["45 s", "10 min", "3.3 h"]
    assert [progress.clock(s) for s in (9, 309, 3909)] == ["0:09", "5:09", "1:05:09"]
