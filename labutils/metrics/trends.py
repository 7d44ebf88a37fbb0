"""How a per-epoch series moves: the evidence behind "the loss decreases" or "it has converged"."""
from __future__ import annotations

import math

import numpy as np


def trend(values, tail_fraction: float = 0.2) -> dict[str, float]:
    """How a per-epoch series moves: first, peak (and its epoch), last; and over the last
    `tail_fraction` of the epochs (at least two) the least-squares slope per epoch and the change it
    amounts to over that tail, relative to the last value (robust to epoch-to-epoch noise)."""
    values = [float(v) for v in values]
    tail = values[-max(2, math.ceil(tail_fraction * len(values))):] if len(values) > 1 else values
    peak = int(np.argmax(values))
    slope = float(np.polyfit(np.arange(len(tail)), tail, 1)[0]) if len(tail) > 1 else 0.0
    return {"first": values[0], "peak": values[peak], "peak_epoch": peak + 1, "last": values[-1],
            "tail_epochs": len(tail), "tail_slope": slope,
            "tail_relative_change": slope * (len(tail) - 1) / abs(values[-1])}
