"""A verdict on a claim of the lab reports, the one form every notebook, the report and the README read.

A verdict is a test on one statistic and a threshold the claim needs it to be above (a difference above
0, a ratio above 2) or below (a distance under twice the floor). With the statistic's interval (bootstrap
over test images and seeds, a trend's confidence interval, or repeats of a measurement; see
`labutils.metrics.uncertainty`):

- **holds**: the whole interval is on the claim's side of the threshold;
- **does not hold**: the whole interval is on the other side;
- **within noise**: the interval straddles it (or there is none), so another seed or sample could
  decide either way.

Each notebook's metrics file carries `verdicts`, a list of `Verdict.record()` dicts:
{claim, report, outcome, evidence, interval, test, point_outcome}.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import pandas as pd

HOLDS, DOES_NOT_HOLD, WITHIN_NOISE = "holds", "does not hold", "within noise"
OUTCOMES = (HOLDS, DOES_NOT_HOLD, WITHIN_NOISE)


def outcome(low: float | None, high: float | None, threshold: float = 0.0, direction: str = "above") -> str:
    """The verdict of a statistic whose claim needs it `direction` ("above" or "below") `threshold`, from
    its interval [low, high] (None: no interval could be had)."""
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}.")
    if low is None or high is None:
        return WITHIN_NOISE
    above, below = low > threshold, high < threshold
    if direction == "below":
        above, below = below, above
    return HOLDS if above else DOES_NOT_HOLD if below else WITHIN_NOISE


def point_outcome(estimate: float, threshold: float = 0.0, direction: str = "above") -> str:
    """What the estimate alone would say, as the lab's verdicts read before they counted noise (nothing,
    within noise, where there is no estimate)."""
    if not math.isfinite(estimate):
        return WITHIN_NOISE
    return HOLDS if (estimate > threshold) == (direction == "above") else DOES_NOT_HOLD


@dataclass(frozen=True)
class Verdict:
    """One claim, tested. `interval` holds the statistic's estimate, low, high and what was resampled."""

    claim: str                       # the report's words
    report: str                      # "report 1", "report 2" or "both reports"
    test: str                        # the statistic and the rule, in words
    interval: Mapping[str, Any]      # {"estimate", "low", "high", "level", ...}, the statistic's
    threshold: float = 0.0
    direction: str = "above"         # the claim needs the statistic above the threshold, or "below" it
    evidence: str = ""               # the numbers behind it, one or two sentences
    notes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return outcome(self.interval["low"], self.interval["high"], self.threshold, self.direction)

    @property
    def point_outcome(self) -> str:
        return point_outcome(self.interval["estimate"], self.threshold, self.direction)

    def record(self) -> dict[str, Any]:
        """The verdict as the metrics file keeps it."""
        return {"claim": self.claim, "report": self.report, "outcome": self.outcome, "evidence": self.evidence,
                "interval": {**self.interval, "threshold": self.threshold, "holds": self.direction}, "test": self.test,
                "point_outcome": self.point_outcome, **({"notes": dict(self.notes)} if self.notes else {})}


def interval_text(interval: Mapping[str, Any], digits: int = 3) -> str:
    """'0.012 [0.010, 0.014] (95% 3 seed(s) × 10000 images)': the estimate, its interval, what it is over."""
    if interval["low"] is None:
        return f"{interval['estimate']:.{digits}g} (no interval: one seed, or too few points)"
    over = (f"{interval['seeds']} seed(s) × {interval['images']} images" if "images" in interval else
            f"{interval['repeats']} repeats" if "repeats" in interval else
            f"range over {interval['seeds']} seed(s)" if "seeds" in interval else
            f"trend over {interval['points']} points" if "points" in interval else "")
    level = f"{100 * interval['level']:.0f}% " if interval.get("level") else ""
    return (f"{interval['estimate']:.{digits}g} [{interval['low']:.{digits}g}, {interval['high']:.{digits}g}]"
            + (f" ({level}{over})" if over else ""))


def table(verdicts: Iterable[Mapping[str, Any] | Verdict]) -> pd.DataFrame:
    """The verdicts as a table, from `Verdict`s or their records (a metrics file's `verdicts`)."""
    rows = []
    for v in verdicts:
        r = v.record() if isinstance(v, Verdict) else v
        rows.append({"report": r["report"], "claim": r["claim"], "verdict": r["outcome"],
                     "statistic [interval]": interval_text(r["interval"]),
                     "holds when": f"{r['interval'].get('holds', 'above')} {r['interval']['threshold']:g}",
                     "test": r["test"], "evidence": r["evidence"]})
    return pd.DataFrame(rows, index=pd.RangeIndex(1, len(rows) + 1))


def changed_by_noise(verdicts: Iterable[Mapping[str, Any] | Verdict]) -> list[str]:
    """The claims whose verdict differs from what the estimate alone says."""
    records = [v.record() if isinstance(v, Verdict) else v for v in verdicts]
    return [r["claim"] for r in records if r["outcome"] != r["point_outcome"]]


def as_records(verdicts: Iterable[Verdict]) -> list[dict[str, Any]]:
    return [v.record() for v in verdicts]

