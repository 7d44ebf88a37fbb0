"""Notebook 04's verdicts on the reports' claims about the GAN, in the form of `labutils.metrics.verdicts`.

The claims: G's loss decreases as it fools D, and D's loss stabilises; the losses indicate convergence;
the images are of a quality comparable to the data set, and diverse; quality improves with more epochs
and with more training data. One training seed: a GAN run costs too much on a CPU to repeat, so the
intervals are those of the trend estimates (least squares, allowing for autocorrelated epochs) and of the
measurements (repeats on other real samples), not of training noise. Each verdict's `test` says which.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy import stats

from labutils.metrics import trends
from labutils.metrics.uncertainty import LEVEL, negated, repeat_interval
from labutils.metrics.verdicts import Verdict

# A loss "stabilises" when over the last half of the epochs it drifts by less than 10% of its level
# there (least-squares slope x epochs / mean): a GAN's per-epoch losses wander by several per cent.
STABLE_TOLERANCE = 0.10
# Images are "comparable to the data set" when their distance to real images is under twice the
# floor, the distance between two real samples (03's factor for "lacks generative capability").
COMPARABLE_RATIO = 2.0
# "Diverse": the generated images cover at least half of the real images that another real sample covers
# (recall over the floor's recall).
DIVERSE_RECALL_RATIO = 0.5
# MNIST: every digit drawn, each at least half as often as in a uniform draw.
MIN_DIGIT_SHARE = 0.05
MIN_TREND_POINTS = 5  # a trend of fewer points gets no interval: Sen's, on 3 or 4 points, means little
# The final distances are measured again against this many other real samples (each a fresh draw).
MEASURE_REPEATS = 5


def _unknown(estimate: float = float("nan")) -> dict:
    return {"estimate": estimate, "low": None, "high": None, "level": LEVEL, "points": 0,
            "method": "none: too few points"}


def slope_interval(values: Sequence[float], x: Sequence[float] | None = None, relative: bool = False) -> dict:
    """Least-squares slope of `values` over `x` (default 1, 2, ...) with its 95% interval, allowing for
    the epochs' autocorrelation (`metrics.trends.slope_interval`: the residuals' lag-1 autocorrelation
    and the effective number of points are in the dict); `relative`: as the change over the whole span
    divided by the mean level. Fewer than MIN_TREND_POINTS (or too few effective ones): no interval.
    (Theil-Sen's interval, used before, takes the epochs as independent: with AR(1) noise at φ = 0.5 its
    95% interval covers about 76% over 30 epochs, tests/test_coverage.py.)"""
    y = np.asarray(values, dtype=np.float64)
    if len(y) < MIN_TREND_POINTS:
        return _unknown()
    fit = trends.slope_interval(y, x, level=LEVEL)
    x = np.arange(1, len(y) + 1, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    scale = (x[-1] - x[0]) / abs(y.mean()) if relative else 1.0
    scaled = {k: (None if fit[k] is None else fit[k] * scale) for k in ("estimate", "low", "high")}
    return {**fit, **scaled, **({"se": fit["se"] * scale} if "se" in fit else {})}


def stability_margin(values: Sequence[float]) -> dict:
    """STABLE_TOLERANCE minus the size of the relative drift over the last half: > 0 when stable. The
    margin's interval is the drift's, folded at 0; its p-value (`verdicts.p_value`) is the drift's t test
    against ±STABLE_TOLERANCE, kept as the drift's se and df with the estimate's distance to the edge."""
    tail = list(values)[len(values) // 2:]
    drift = slope_interval(tail, relative=True)
    if drift["low"] is None:
        return {**_unknown(), "drift": drift}
    far = max(abs(drift["low"]), abs(drift["high"]))
    near = 0.0 if drift["low"] <= 0 <= drift["high"] else min(abs(drift["low"]), abs(drift["high"]))
    return {"estimate": STABLE_TOLERANCE - abs(drift["estimate"]), "low": STABLE_TOLERANCE - far,
            "high": STABLE_TOLERANCE - near, "level": LEVEL, "points": drift["points"], "se": drift["se"],
            "df": drift["df"], "lag1_autocorrelation": drift["lag1_autocorrelation"],
            "method": "tolerance minus |drift|, drift by " + drift["method"], "drift": drift}


def _both(first: dict, second: dict) -> dict:
    """The smaller of two margins (both must hold), with its interval: the smaller bounds of two 95%
    intervals, which cover both at once with at least 90% (Bonferroni). The parts are kept, for the
    p-value (`verdicts.p_value`)."""
    if first["low"] is None or second["low"] is None:
        return {**_unknown(min(first["estimate"], second["estimate"])), "parts": [first, second]}
    return {"estimate": min(first["estimate"], second["estimate"]), "low": min(first["low"], second["low"]),
            "high": min(first["high"], second["high"]), "level": 2 * LEVEL - 1, "points": first["points"],
            "method": "smaller of two margins, Bonferroni", "parts": [first, second]}


def _autocorrelation(fit: dict) -> str:
    """'residuals' lag-1 autocorrelation 0.31 (18.4 effective points of 30)': what the trend's interval allowed for."""
    if fit.get("lag1_autocorrelation") is None:
        return "too few points for a trend's interval"
    return (f"residuals' lag-1 autocorrelation {fit['lag1_autocorrelation']:.2f} ({fit['effective_points']:.1f} "
            f"effective points of {fit['points']})")


def _thirds(values: Sequence[float]) -> str:
    """'4.81 over the first third of the epochs, 4.40 over the last': a noisy series' drift, in words."""
    third = max(1, len(values) // 3)
    return (f"{np.mean(values[:third]):.3f} on average over the first third of the epochs, "
            f"{np.mean(values[-third:]):.3f} over the last")


def clopper_pearson(counts: np.ndarray, total: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper-Pearson) intervals of binomial proportions counts / total, vectorised."""
    counts = np.asarray(counts, dtype=np.float64)
    tail = (1 - level) / 2
    low = np.where(counts > 0, stats.beta.ppf(tail, counts, total - counts + 1), 0.0)
    high = np.where(counts < total, stats.beta.ppf(1 - tail, counts + 1, total - counts), 1.0)
    return low, high


def rarest_digit_share(digits: np.ndarray) -> dict:
    """The share of the rarest of the ten digits among the samples' classified digits, with a 95%
    interval that covers it: each digit's exact (Clopper-Pearson) interval at level 1 - 0.05 / 10, so that
    all ten cover at once with at least 95% (Bonferroni), and the smallest of their bounds. (The smallest
    of ten separate 95% intervals covers about 77% with ten equal shares; a bootstrap of a minimum is
    biased low. tests/test_coverage.py measures both.)"""
    counts = np.bincount(np.asarray(digits, dtype=int), minlength=10)
    low, high = clopper_pearson(counts, len(digits), 1 - (1 - LEVEL) / len(counts))
    return {"estimate": float(counts.min() / len(digits)), "low": float(low.min()), "high": float(high.min()),
            "level": LEVEL, "samples": len(digits), "counts": counts.tolist(),
            "method": "smallest of ten exact binomial intervals, Bonferroni"}


def decide(epochs: Sequence[Mapping], swd_epochs: Sequence[int], swd_series: Sequence[float],
           quality: Mapping[str, Sequence[float]], diversity: Mapping, data_sweep: Mapping[float, Sequence[float]],
           classifier_quality: Mapping[str, Sequence[float]] | None = None,
           digits: np.ndarray | None = None) -> list[Verdict]:
    """The GAN's verdicts.

    epochs: the history's rows (train_g_loss, train_d_loss); swd_epochs/swd_series: the in-training SWD;
    quality: {"swd": [...], "floor": [...]} per repeat of the final measurement; diversity:
    `metrics.diversity.diversity_against_floor`'s dict; data_sweep: {fraction of the images: [SWD per
    repeat]} at an equal number of updates (may be empty); on MNIST, classifier_quality (Fréchet distance
    and floor per repeat) and the classified digit of each generated image.
    """
    g_loss = [row["train_g_loss"] for row in epochs]
    d_loss = [row["train_d_loss"] for row in epochs]
    g_trend = negated(slope_interval(g_loss, relative=True))
    d_stable, g_stable = stability_margin(d_loss), stability_margin(g_loss)
    ratio = repeat_interval(np.divide(quality["swd"], quality["floor"]))
    recall = diversity["summary"]["recall_ratio"]
    recall = {"estimate": recall["mean"], "low": recall["low"], "high": recall["high"], "level": LEVEL,
              "repeats": diversity["repeats"], "method": "central range of the repeats",
              **({"values": list(diversity["recall_ratio"])} if "recall_ratio" in diversity else {})}
    over_epochs = negated(slope_interval(swd_series, swd_epochs))
    verdicts = [
        Verdict("The generator's loss decreases as it fools the discriminator", "both reports",
                "change of G's per-epoch loss over the run, relative to its mean, negated (least-squares slope, "
                "95% interval allowing for autocorrelated epochs): above 0 when it falls", g_trend,
                evidence=f"G's loss {_thirds(g_loss)}; {_autocorrelation(g_trend)}"),
        Verdict("The discriminator's loss stabilises", "both reports",
                f"{100 * STABLE_TOLERANCE:.0f}% minus the size of D's loss's relative drift over the last half of "
                "the epochs (least squares, 95% interval allowing for autocorrelation)", d_stable,
                evidence=f"D's loss {_thirds(d_loss)}"),
        Verdict("The losses indicate convergence", "both reports",
                "both players' losses stable over the last half, by the test above: the smaller margin", 
                _both(d_stable, g_stable), evidence="a stable loss shows a balance, not that G draws well: "
                                                    "the quality verdicts below say that"),
        Verdict("The generated images are of a quality comparable to the original data set", "both reports",
                "SWD of generated to real images over the floor (two real samples), per repeat on another real "
                f"sample: holds below {COMPARABLE_RATIO:g}", ratio, threshold=COMPARABLE_RATIO, direction="below",
                evidence=f"SWD {np.mean(quality['swd']):.1f} against a floor of {np.mean(quality['floor']):.1f}"),
        Verdict("The generated images are diverse", "both reports",
                f"recall of the generated images (Kynkäänniemi et al. 2019, k = {diversity['k']}) over the floor's "
                f"(another real sample), per repeat: holds above {DIVERSE_RECALL_RATIO:g}", recall,
                threshold=DIVERSE_RECALL_RATIO,
                evidence=f"recall {diversity['summary']['recall']['mean']:.3f} against the floor's "
                         f"{diversity['summary']['floor_recall']['mean']:.3f}; precision "
                         f"{diversity['summary']['precision']['mean']:.3f}"),
        Verdict("Quality improves with more epochs", "both reports",
                "the in-training SWD's least-squares slope per epoch, negated (95% interval allowing for "
                "autocorrelation): above 0 when it falls",
                over_epochs, evidence=f"SWD {swd_series[0]:.1f} at epoch {swd_epochs[0]}, {swd_series[-1]:.1f} at "
                                      f"epoch {swd_epochs[-1]}; {_autocorrelation(over_epochs)}"
                                      if len(swd_series) else "no in-training distance"),
    ]
    if len(data_sweep) > 1:
        fractions = sorted(data_sweep)
        gain = repeat_interval(np.subtract(data_sweep[fractions[0]], data_sweep[fractions[-1]]))
        verdicts.append(Verdict(
            "Quality improves with more training data", "both reports",
            f"SWD with {100 * fractions[0]:.0f}% of the images minus with {100 * fractions[-1]:.0f}%, at an equal "
            "number of updates, per repeat on another real sample: above 0 when more data is closer", gain,
            evidence=", ".join(f"{100 * f:.0f}%: SWD {np.mean(data_sweep[f]):.1f}" for f in fractions)))
    if classifier_quality is not None:
        fd_ratio = repeat_interval(np.divide(classifier_quality["distance"], classifier_quality["floor"]))
        verdicts.append(Verdict(
            "The generated digits are of a quality comparable to MNIST (classifier features)", "both reports",
            "Fréchet distance in the digit classifier's features over its floor, per repeat: holds below "
            f"{COMPARABLE_RATIO:g}", fd_ratio, threshold=COMPARABLE_RATIO, direction="below",
            evidence=f"Fréchet distance {np.mean(classifier_quality['distance']):.1f} against a floor of "
                     f"{np.mean(classifier_quality['floor']):.1f}"))
    if digits is not None:
        verdicts.append(Verdict(
            "The generated digits are diverse: every digit is drawn", "both reports",
            f"share of the rarest digit among the samples (exact binomial intervals, simultaneous over the ten): "
            f"holds above {MIN_DIGIT_SHARE:g}",
            rarest_digit_share(digits), threshold=MIN_DIGIT_SHARE,
            evidence="shares: " + ", ".join(f"{d}: {100 * s:.1f}%" for d, s in enumerate(
                np.bincount(np.asarray(digits, dtype=int), minlength=10) / len(digits)))))
    return verdicts
