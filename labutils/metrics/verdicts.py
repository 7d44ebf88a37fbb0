"""A verdict on a claim of the lab reports, the one form every notebook, the report and the README read.

A verdict is a test on one statistic and a threshold the claim needs it to be above (a difference above
0, a ratio above 2) or below (a distance under twice the floor). With the statistic's interval (bootstrap
over test images and seeds, a trend's confidence interval, or repeats of a measurement; see
`labutils.metrics.uncertainty`):

- **holds**: the whole interval is on the claim's side of the threshold;
- **does not hold**: the whole interval is on the other side;
- **within noise**: the interval straddles it (or there is none), so another seed or sample could
  decide either way.

Each verdict's error rate is 1 − its interval's level (5% for a 95% interval): the chance that such an
interval misses. Many verdicts at once make some error likely, so each record also has the p-value of
the test its interval inverts (`p_value`), and
`holm` says which verdicts of one family (one run's, or one table's) still hold or fail after Holm's
step-down correction (Holm 1979), which keeps the chance of any wrong decided verdict under 5%.

Each notebook's metrics file carries `verdicts`, a list of `Verdict.record()` dicts:
{claim, report, quote, reading, outcome, evidence, interval, test, point_outcome, p_value, error_rate}:
`quote` is the report's own words for the claim, quoted exactly; `reading` is how the lab reads it (the
primary measure, the tolerance) and why, from the claim's wording and the literature.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from labutils.metrics.uncertainty import t_bounds

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


def p_value(interval: Mapping[str, Any], threshold: float = 0.0) -> float | None:
    """The two-sided p-value of "the statistic equals `threshold`" from the test the interval inverts:
    for a t interval, p < 1 − level exactly when the interval excludes the threshold; for a bootstrap or
    repeats, approximately. None where there is no interval.

    - t intervals (`se`, `df`: seeds, two-level, trends, the GAN's repeats; a one-seed image bootstrap as
      a normal with its draws' spread): 2 · P(T_df > |estimate − threshold| / se).
    - repeats without a t interval (`values`, `uncertainty.repeat_interval`'s central range): a sign test
      on how many repeats fall on each side. Its smallest p with 5 repeats is 2/32 = 0.0625: the central
      range of 5 repeats decides where this test cannot, which says that range is not a confidence
      interval; the GAN's verdicts use a t interval over their repeats instead.
    - the rarest digit (`counts`): "every share above" holds when each digit's one-sided exact test
      does (the largest of their p-values, an intersection-union test); "some share below" needs one
      digit, Bonferroni over ten; the smaller of the two, doubled.
    - parts that must all hold (`parts`, `all_above`): the largest of their p-values when every estimate
      is above the threshold (an intersection-union test), else the smallest p-value of the parts
      below it times the number of parts (Bonferroni: one part below is enough to fail).
    """
    if interval.get("low") is None or not np.isfinite(interval["estimate"]):
        return None
    if "parts" in interval:
        parts = [p_value(part, threshold) for part in interval["parts"]]
        if any(p is None for p in parts):
            return None
        if interval["estimate"] > threshold:
            return max(parts)
        below = [p for p, part in zip(parts, interval["parts"]) if part["estimate"] <= threshold]
        return min(1.0, len(parts) * min(below))
    if "counts" in interval:
        counts, total = np.asarray(interval["counts"]), interval["samples"]
        above = max(stats.binom.sf(c - 1, total, threshold) for c in counts)    # P(X >= c): each share above
        below = min(1.0, len(counts) * min(stats.binom.cdf(c, total, threshold) for c in counts))
        return float(min(1.0, 2 * min(above, below)))
    if "se" in interval and "df" in interval:
        if interval["se"] == 0:
            return 0.0 if interval["estimate"] != threshold else 1.0
        return float(2 * stats.t.sf(abs(interval["estimate"] - threshold) / interval["se"], interval["df"]))
    if "repeats" in interval and "values" in interval:
        values = np.asarray(interval["values"])
        fewer = int(min((values < threshold).sum(), (values > threshold).sum()))
        return float(stats.binomtest(fewer, int((values != threshold).sum()) or 1).pvalue)
    return None


def all_above(parts: Sequence[Mapping[str, Any]], level: float = 0.95) -> dict[str, Any]:
    """One interval for a claim that needs every part's statistic above the threshold, from the parts'
    t intervals (`se`, `df`; a part without an interval leaves none): its estimate and low are the
    smallest part's (it holds when every part's interval is above); its high is the smallest of the parts'
    highs at level 1 − (1 − level) / parts (it fails when one part's is below, Bonferroni over the parts).
    `p_value` reads the parts the same way."""
    parts = [dict(part) for part in parts]
    common = {"estimate": min(part["estimate"] for part in parts), "level": level, "parts": parts,
              "method": f"all of {len(parts)} parts: the smallest estimate and low (intersection-union), the "
                        f"smallest high at {100 * (1 - (1 - level) / len(parts)):g}% (Bonferroni)"}
    if any(part.get("low") is None or "se" not in part for part in parts):
        return {**common, "low": None, "high": None}
    highs = [t_bounds(part["estimate"], part["se"], part["df"], 1 - (1 - level) / len(parts))[1] for part in parts]
    shared = {key: parts[0][key] for key in ("seeds", "images") if key in parts[0]}
    return {**common, **shared, "low": min(part["low"] for part in parts), "high": min(highs)}


def holm(records: Iterable[Mapping[str, Any]], alpha: float = 0.05) -> list[dict[str, Any]]:
    """Holm's step-down correction over a family of verdict records: per record its Holm-adjusted p
    (None without a p-value) and whether its decided outcome survives (adjusted p < alpha). A verdict
    without a p-value, or within noise, survives nothing. The family is what is passed: one run's verdicts."""
    records = list(records)
    tested = sorted((r["p_value"], i) for i, r in enumerate(records) if r.get("p_value") is not None)
    adjusted: dict[int, float] = {}
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return [{"holm_p": adjusted.get(i), "survives": adjusted.get(i) is not None and adjusted[i] < alpha
             and r["outcome"] != WITHIN_NOISE} for i, r in enumerate(records)]


def error_rate(interval: Mapping[str, Any]) -> float | None:
    """1 − the interval's level: the chance that an interval made this way misses (None: no interval)."""
    return None if interval.get("low") is None or not interval.get("level") else round(1 - interval["level"], 4)


@dataclass(frozen=True)
class Verdict:
    """One claim, tested. `interval` holds the statistic's estimate, low, high and what was resampled."""

    claim: str                       # the report's words
    report: str                      # "report 1", "report 2", "both reports" or "the lab's own check"
    test: str                        # the statistic and the rule, in words
    interval: Mapping[str, Any]      # {"estimate", "low", "high", "level", ...}, the statistic's
    threshold: float = 0.0
    direction: str = "above"         # the claim needs the statistic above the threshold, or "below" it
    evidence: str = ""               # the numbers behind it, one or two sentences
    notes: Mapping[str, Any] = field(default_factory=dict)
    quote: str = ""                  # the report's own words for the claim, quoted exactly (short)
    reading: str = ""                # how the lab reads the claim and why: the measure, the tolerance, its reason

    @property
    def outcome(self) -> str:
        return outcome(self.interval["low"], self.interval["high"], self.threshold, self.direction)

    @property
    def point_outcome(self) -> str:
        return point_outcome(self.interval["estimate"], self.threshold, self.direction)

    def record(self) -> dict[str, Any]:
        """The verdict as the metrics file keeps it."""
        return {"claim": self.claim, "report": self.report, "quote": self.quote, "reading": self.reading,
                "outcome": self.outcome, "evidence": self.evidence,
                "interval": {**self.interval, "threshold": self.threshold, "holds": self.direction}, "test": self.test,
                "point_outcome": self.point_outcome, "p_value": p_value(self.interval, self.threshold),
                "error_rate": error_rate(self.interval), **({"notes": dict(self.notes)} if self.notes else {})}


def interval_text(interval: Mapping[str, Any], digits: int = 3) -> str:
    """'0.012 [0.010, 0.014] (95% 3 seed(s) × 10000 images)': the estimate, its interval, what it is over."""
    if interval["low"] is None:
        return f"{interval['estimate']:.{digits}g} (no interval: one seed, or too few points)"
    over = (f"all of {len(interval['parts'])} parts, each {interval['seeds']} seed(s) × {interval['images']} images: "
            f"the smallest low, the smallest {100 * (1 - (1 - interval['level']) / len(interval['parts'])):g}% high"
            if "parts" in interval and "images" in interval else
            f"{interval['seeds']} seed(s) × {interval['images']} images" if "images" in interval else
            f"{interval['seeds']} seed(s) × {interval['repeats']} repeats" if {"repeats", "seeds"} <= interval.keys() else
            f"{interval['repeats']} repeats" if "repeats" in interval else
            (f"t over {interval['seeds']} seeds" if interval.get("level") else
             f"range over {interval['seeds']} seed(s)")
            if "seeds" in interval else
            f"trend over {interval['points']} points, lag-1 autocorrelation {interval['lag1_autocorrelation']:.2f}"
            if interval.get("lag1_autocorrelation") is not None else
            f"trend over {interval['points']} points" if "points" in interval else
            f"{interval['samples']} samples, simultaneous" if "samples" in interval else "")
    level = f"{100 * interval['level']:.0f}% " if interval.get("level") else ""
    return (f"{interval['estimate']:.{digits}g} [{interval['low']:.{digits}g}, {interval['high']:.{digits}g}]"
            + (f" ({level}{over})" if over else ""))


def holm_text(record: Mapping[str, Any], corrected: Mapping[str, Any]) -> str:
    """'p = 0.003, survives Holm' / 'p = 0.04, not after Holm' / 'no p-value': one cell of the tables."""
    if record.get("p_value") is None:
        return "no p-value"
    if record["outcome"] == WITHIN_NOISE:
        return f"p = {record['p_value']:.2g}, undecided"
    return f"p = {record['p_value']:.2g}, " + ("survives Holm" if corrected["survives"] else "not after Holm")


class VerdictTable(pd.DataFrame):
    """A DataFrame that a notebook shows (as HTML) with every word of its cells: a verdict's reading and
    evidence are sentences, which pandas' default display cuts at 50 characters."""

    @property
    def _constructor(self):
        return VerdictTable

    def _repr_html_(self) -> str | None:
        with pd.option_context("display.max_colwidth", None):
            return super()._repr_html_()


def table(verdicts: Iterable[Mapping[str, Any] | Verdict]) -> pd.DataFrame:
    """The verdicts as a table, from `Verdict`s or their records (a metrics file's `verdicts`); "Holm"
    corrects over the verdicts given (one notebook's here; the README's table over the whole run)."""
    records = [v.record() if isinstance(v, Verdict) else v for v in verdicts]
    rows = []
    for r, corrected in zip(records, holm([{**r, "p_value": r.get("p_value")} for r in records])):
        rate = r.get("error_rate", error_rate(r["interval"]))
        rows.append({"report": r["report"], "claim": r["claim"], "verdict": r["outcome"],
                     "statistic [interval]": interval_text(r["interval"]),
                     "holds when": f"{r['interval'].get('holds', 'above')} {r['interval']['threshold']:g}",
                     "error rate": "—" if rate is None else f"{100 * rate:.0f}%", "Holm": holm_text(r, corrected),
                     "the report's words": r.get("quote", ""), "read as": r.get("reading", ""),
                     "test": r["test"], "evidence": r["evidence"]})
    return VerdictTable(rows, index=pd.RangeIndex(1, len(rows) + 1))


def changed_by_noise(verdicts: Iterable[Mapping[str, Any] | Verdict]) -> list[str]:
    """The claims whose verdict differs from what the estimate alone says."""
    records = [v.record() if isinstance(v, Verdict) else v for v in verdicts]
    return [r["claim"] for r in records if r["outcome"] != r["point_outcome"]]


def as_records(verdicts: Iterable[Verdict]) -> list[dict[str, Any]]:
    return [v.record() for v in verdicts]

