"""How far a measured difference could move with other test images or another training seed.

Every comparison a verdict reads is a statistic of per-image values (an error, a correct answer, a
silhouette) of models trained with one or several seeds. `bootstrap_interval` resamples both: the
seeds (with replacement), then the test images (with replacement, the same images for every seed,
because every model is measured on the same images). With one seed it is the ordinary percentile
bootstrap over images. scipy.stats.bootstrap resamples one level only, hence this small function.
`seed_range` is for statistics that have one value per training run (a trend over epochs).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

LEVEL = 0.95
RESAMPLES = 1000


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_interval(per_image: Sequence[np.ndarray] | np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean,
                       resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0,
                       method: str = "percentile") -> dict[str, float]:
    """Estimate and interval of the mean over seeds of `statistic(values of one seed)`.

    per_image: (seeds, images) or (images,), or a list of per-seed arrays (images, ...) on the same
    images. `statistic` maps one seed's (images, ...) array to a number (default: the mean).
    `method`: "percentile", or "basic" (the percentiles reflected about the estimate) for a statistic
    that resampling biases, such as a Fréchet distance, which repeated rows shrink.
    Returns {"estimate", "low", "high", "level", "seeds", "images", "resamples", "method"}.
    """
    runs = [np.asarray(v, dtype=np.float64) for v in (per_image if np.ndim(per_image[0]) else [per_image])]
    n_images = len(runs[0])
    if any(len(v) != n_images for v in runs):
        raise ValueError("Every seed must be measured on the same images (equal lengths), got "
                         f"{[len(v) for v in runs]}.")
    rng = np.random.default_rng(seed)
    draws = np.empty(resamples)
    for b in range(resamples):
        seeds = rng.integers(len(runs), size=len(runs))
        images = rng.integers(n_images, size=n_images)
        # A seed drawn twice shares its images, so its statistic is computed once (the same number).
        per_seed = {s: statistic(runs[s][images]) for s in np.unique(seeds)}
        draws[b] = np.mean([per_seed[s] for s in seeds])
    estimate = float(np.mean([statistic(v) for v in runs]))
    low, high = _percentiles(draws, level)
    if method == "basic":
        low, high = 2 * estimate - high, 2 * estimate - low
    elif method != "percentile":
        raise ValueError(f"method must be 'percentile' or 'basic', got {method!r}.")
    return {"estimate": estimate, "low": low, "high": high, "level": level, "seeds": len(runs), "images": n_images,
            "resamples": resamples, "method": method}


def negated(interval: dict) -> dict:
    """The interval of minus the statistic: estimate and bounds negated, the bounds swapped (None kept)."""
    if interval["low"] is None:
        return {**interval, "estimate": -interval["estimate"]}
    return {**interval, "estimate": -interval["estimate"], "low": -interval["high"], "high": -interval["low"]}


def seed_range(values: Sequence[float]) -> dict[str, float]:
    """A statistic with one value per seed: its mean and its range over the seeds. One seed says nothing
    about training noise: no interval (low and high None)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = (float(values.min()), float(values.max())) if len(values) > 1 else (None, None)
    return {"estimate": float(values.mean()), "low": low, "high": high, "level": None, "seeds": len(values),
            "values": values.tolist()}


def repeat_interval(values: Sequence[float], level: float = LEVEL) -> dict[str, float]:
    """A measurement repeated on fresh samples (other real images, other generated ones): its mean and the
    central `level` of the repeats."""
    values = np.asarray(values, dtype=np.float64)
    low, high = _percentiles(values, level)
    return {"estimate": float(values.mean()), "low": low, "high": high, "level": level, "repeats": len(values)}
