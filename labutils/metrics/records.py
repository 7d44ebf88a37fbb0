"""The metrics files: every number a notebook reports, written with the context of its run."""
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
