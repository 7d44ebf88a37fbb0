"""The metrics files: every number a notebook reports, written with the context of its run, and read back
(notebook 03 finds there the runs that 01 and 02 trained last)."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labutils.runtime import outputs_dir


def save_metrics(notebook: str, metrics: dict[str, Any], *, profile: str, device: str,
                 data_source: str) -> Path:
    """Write `outputs/metrics/<notebook>.json`: the metrics with the run's context."""
    record = {
        "notebook": notebook,
        "profile": profile,
        "device": device,
        "data_source": data_source,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **metrics,
    }
    path = outputs_dir("metrics") / f"{notebook}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


def read_metrics(notebook: str) -> dict[str, Any] | None:
    """The record that `save_metrics` last wrote for `notebook` on this machine; None where there is none."""
    path = outputs_dir("metrics") / f"{notebook}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):  # none yet, or cut short
        return None
