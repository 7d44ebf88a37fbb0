"""How far a measured difference could move with other test images or another training seed.

Every comparison a verdict reads is a statistic of per-image values (an error, a correct answer, a
silhouette) of models trained with one or several seeds, all measured on the same test images.

- `t_interval`: a statistic with one value per training seed (a trend's margin, an MMD margin): the
  t interval on the per-seed values, n - 1 degrees of freedom. One seed says nothing about training
  noise: no interval. (A percentile bootstrap over 3 seeds cannot be wider than [min, max], which
  covers the mean far less often than 95%: tests/test_coverage.py measures both.)
- `bootstrap_interval`: a statistic of per-image values. With one seed, the percentile bootstrap over
  the images. With several, a two-level variance (seeds, and the images every seed shares) and a
  t interval; see its docstring for why.
- `repeat_interval`: a measurement repeated on fresh samples: the central range of the repeats.

Every interval dict says its `method` and its `level`; t intervals also keep `se` and `df`, from which
`labutils.metrics.verdicts.p_value` computes the p-value the interval inverts.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import stats

LEVEL = 0.95
RESAMPLES = 1000


def _percentiles(values: np.ndarray, level: float) -> tuple[float, float]:
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def t_bounds(estimate: float, se: float, df: float, level: float = LEVEL) -> tuple[float, float]:
    """estimate ± t_{df, (1 + level) / 2} · se."""
    half = float(stats.t.ppf((1 + level) / 2, df)) * se
    return estimate - half, estimate + half


def t_interval(values: Sequence[float], level: float = LEVEL) -> dict:
    """A statistic with one value per training seed: the mean and its t interval (n - 1 degrees of
    freedom), exact when the per-seed values are normal, and the form that keeps its level with 3 seeds.
    One seed: no interval (low and high None), and the dict says why."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    interval = {"estimate": float(values.mean()), "low": None, "high": None, "level": level, "seeds": n,
                "values": values.tolist(), "method": "t over seeds"}
    if n < 2:
        return {**interval, "method": "none: one seed, no seed-level interval"}
    se = float(values.std(ddof=1) / np.sqrt(n))
    low, high = t_bounds(interval["estimate"], se, n - 1, level)
    return {**interval, "low": low, "high": high, "se": se, "df": n - 1}


def _image_draws(runs: list[np.ndarray], statistic: Callable, resamples: int, rng) -> np.ndarray:
    """(resamples, seeds): each seed's statistic on the same bootstrap resample of the images."""
    n_images = len(runs[0])
    picks = rng.integers(n_images, size=(resamples, n_images))
    if statistic is np.mean:  # the common case, vectorised: (resamples, images) -> (resamples,)
        return np.stack([run[picks].reshape(resamples, n_images, -1).mean(axis=(1, 2)) for run in runs], axis=1)
    return np.array([[statistic(run[images]) for run in runs] for images in picks])


def bootstrap_interval(per_image: Sequence[np.ndarray] | np.ndarray, statistic: Callable[[np.ndarray], float] = np.mean,
                       resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0,
                       method: str = "percentile") -> dict[str, float]:
    """Estimate and interval of the mean over seeds of `statistic(values of one seed)`.

    per_image: (seeds, images) or (images,), or a list of per-seed arrays (images, ...) on the same
    images. `statistic` maps one seed's (images, ...) array to a number (default: the mean).

    One seed: the bootstrap over the images; `method` "percentile", or "basic" (the percentiles
    reflected about the estimate) for a statistic that resampling biases, such as a Fréchet distance,
    which repeated rows shrink, or "normal" (the estimate ± z · the resamples' standard deviation) for
    a statistic whose resamples are shifted too far for either, such as a log determinant of a sample
    covariance, corrected for bias at n distinct rows. This interval holds the images' noise only: the
    dict says so.

    Several seeds: a two-level variance, var = s²_seeds / S + v_images, and a t interval with
    Welch–Satterthwaite degrees of freedom, (a + b)² / (a² / (S − 1)) for a = s²_seeds / S, b = v_images.
    s²_seeds is the variance of the per-seed estimates; v_images is the bootstrap variance over images of
    their mean over seeds. Why both: every seed is measured on the same test images, so the part of the
    image noise that all seeds share moves every per-seed estimate together and never shows in their
    spread; v_images adds it. (It also counts the seed-specific image noise a second time, which errs
    wide, by at most the image term: small where the seeds' spread dominates, as it does here.) The t
    quantile, not the bootstrap's percentiles, because a percentile bootstrap over 3 seeds cannot be wider
    than [min seed, max seed] and covers about 73% when the seeds' spread dominates
    (tests/test_coverage.py). `method` then only names the image-level part, which enters as a variance.

    Returns {"estimate", "low", "high", "level", "seeds", "images", "resamples", "method", ...}.
    """
    if method not in ("percentile", "basic", "normal"):
        raise ValueError(f"method must be 'percentile', 'basic' or 'normal', got {method!r}.")
    runs = [np.asarray(v, dtype=np.float64) for v in (per_image if np.ndim(per_image[0]) else [per_image])]
    n_images = len(runs[0])
    if any(len(v) != n_images for v in runs):
        raise ValueError("Every seed must be measured on the same images (equal lengths), got "
                         f"{[len(v) for v in runs]}.")
    per_seed = np.array([statistic(v) for v in runs])
    estimate = float(per_seed.mean())
    draws = _image_draws(runs, statistic, resamples, np.random.default_rng(seed)).mean(axis=1)
    common = {"estimate": estimate, "level": level, "seeds": len(runs), "images": n_images, "resamples": resamples}
    if len(runs) == 1:
        low, high = _percentiles(draws, level)
        if method == "basic":
            low, high = 2 * estimate - high, 2 * estimate - low
        if method == "normal":
            low, high = t_bounds(estimate, float(draws.std(ddof=1)), float("inf"), level)
        return {**common, "low": low, "high": high, "se": float(draws.std(ddof=1)), "df": float("inf"),
                "method": f"{method} bootstrap over images (one seed: no seed-level noise in it)"}
    seed_part = float(per_seed.var(ddof=1) / len(runs))
    image_part = float(draws.var(ddof=1))
    se = float(np.sqrt(seed_part + image_part))
    df = (seed_part + image_part) ** 2 / (seed_part ** 2 / (len(runs) - 1)) if seed_part > 0 else float("inf")
    low, high = t_bounds(estimate, se, df, level)
    return {**common, "low": low, "high": high, "se": se, "df": float(df), "seed_variance": seed_part,
            "image_variance": image_part, "method": "two-level t (seeds + shared images' bootstrap)"}


def percentile_over_seeds(per_image: Sequence[np.ndarray], resamples: int = RESAMPLES, level: float = LEVEL,
                          seed: int = 0) -> dict:
    """The lab's former interval, kept only so tests/test_coverage.py can show why it is gone: the
    percentile bootstrap of the mean, resampling seeds and then images. With 3 seeds it can be no wider
    than the seeds' range. Vectorised; the mean as the statistic."""
    runs = np.asarray(per_image, dtype=np.float64)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(len(runs), size=(resamples, len(runs)))
    images = rng.integers(runs.shape[1], size=(resamples, runs.shape[1]))
    per_seed = np.stack([runs[:, images[b]].mean(axis=1) for b in range(resamples)])  # (resamples, seeds)
    draws = np.take_along_axis(per_seed, seeds, axis=1).mean(axis=1)
    low, high = _percentiles(draws, level)
    return {"estimate": float(runs.mean()), "low": low, "high": high, "level": level,
            "method": "percentile bootstrap over seeds and images"}


def negated(interval: dict) -> dict:
    """The interval of minus the statistic: estimate and bounds negated, the bounds swapped (None kept)."""
    if interval["low"] is None:
        return {**interval, "estimate": -interval["estimate"]}
    return {**interval, "estimate": -interval["estimate"], "low": -interval["high"], "high": -interval["low"]}


def seed_range(values: Sequence[float]) -> dict[str, float]:
    """A description, not an interval to decide on: the mean of per-seed values and their range (with 3
    seeds "all seeds agree" is a sign test at p = 0.25, two-sided). Decide with `t_interval`."""
    values = np.asarray(values, dtype=np.float64)
    low, high = (float(values.min()), float(values.max())) if len(values) > 1 else (None, None)
    return {"estimate": float(values.mean()), "low": low, "high": high, "level": None, "seeds": len(values),
            "values": values.tolist(), "method": "range over seeds (a description)"}


def repeat_interval(values: Sequence[float], level: float = LEVEL) -> dict[str, float]:
    """A measurement repeated on fresh samples (other real images, other generated ones): its mean and the
    central `level` of the repeats (how far one repeat falls from another; `verdicts.p_value` reads the
    repeats with a sign test)."""
    values = np.asarray(values, dtype=np.float64)
    low, high = _percentiles(values, level)
    return {"estimate": float(values.mean()), "low": low, "high": high, "level": level, "repeats": len(values),
            "values": values.tolist(), "method": "central range of the repeats"}
