"""How a per-epoch series moves: the evidence behind "the loss decreases" or "it has converged"."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats


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


MIN_EFFECTIVE_POINTS = 3  # fewer effective points than this: no interval (a t needs at least 1 df)


def lag1_autocorrelation(residuals) -> float:
    """The lag-1 autocorrelation of a series (around its mean)."""
    r = np.asarray(residuals, dtype=np.float64)
    r = r - r.mean()
    denominator = float(r @ r)
    return float(r[1:] @ r[:-1] / denominator) if denominator > 0 else 0.0


def slope_interval(values, x=None, level: float = 0.95) -> dict:
    """Least-squares slope of `values` over `x` (default 1, 2, ...) with a confidence interval that allows
    for autocorrelated noise, as per-epoch losses have (Santer et al. 2000, J. Geophys. Res. 105(D6)).

    The residuals' lag-1 autocorrelation r1 (taken as 0 when negative) gives an effective number of
    points n_eff = n (1 − r1) / (1 + r1), the n of an AR(1) series' independent equivalent; the residual
    variance is Σe² / (n_eff − 2) and the t quantile has n_eff − 2 degrees of freedom. r1 from a short
    series is biased low (about −(1 + 4 r1) / n around a mean, Kendall 1954; more with a line removed), so
    it is raised by (2 + 4 r1) / n before use: with it the 95% interval covers 94% at n = 30, φ = 0.5 and
    91% at n = 15 (tests/test_coverage.py), against 89% at n = 15 with Kendall's term alone.
    Fewer than MIN_EFFECTIVE_POINTS effective points: no interval (low and high None).
    Returns {"estimate", "low", "high", "level", "points", "lag1_autocorrelation", "effective_points",
    "se", "df", "method"}.
    """
    y = np.asarray(values, dtype=np.float64)
    n = len(y)
    x = np.arange(1, n + 1, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    result = {"estimate": float("nan"), "low": None, "high": None, "level": level, "points": n,
              "method": "least squares, t with AR(1) effective sample size"}
    if n < 3:
        return {**result, "lag1_autocorrelation": None, "effective_points": float(n)}
    dx = x - x.mean()
    slope = float(dx @ (y - y.mean()) / (dx @ dx))
    residuals = y - y.mean() - slope * dx
    r1 = lag1_autocorrelation(residuals)
    r1_used = min(max(0.0, r1 + (2 + 4 * max(0.0, r1)) / n), 0.99)
    n_eff = n * (1 - r1_used) / (1 + r1_used)
    result = {**result, "estimate": slope, "lag1_autocorrelation": r1, "effective_points": float(n_eff)}
    if n_eff < MIN_EFFECTIVE_POINTS:
        return result
    df = n_eff - 2
    se = float(np.sqrt(residuals @ residuals / df / (dx @ dx)))
    half = float(stats.t.ppf((1 + level) / 2, df)) * se
    return {**result, "low": slope - half, "high": slope + half, "se": se, "df": float(df)}
