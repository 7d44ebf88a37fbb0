"""Do the verdicts' intervals cover as often as they say? Each method is run on many simulated data sets
with a known answer; a method fails when its coverage is more than 5 points below its stated level.

The lab's former methods are run through the same check and are expected to fail it: the percentile
bootstrap over 3 seeds, Theil-Sen's interval on autocorrelated epochs, and the smallest of ten separate
95% intervals for the rarest digit. An interval that could not be had (too few effective points) is
counted as covering: its verdict is "within noise", never a wrong decision.
"""
import numpy as np
import pytest
from scipy.stats import theilslopes

from labutils.metrics import trends
from labutils.metrics.prior_match import gaussian_fit_kl_per_dimension
from labutils.metrics.uncertainty import LEVEL, bootstrap_interval, percentile_over_seeds, t_interval
from labutils.summaries.gan_verdicts import clopper_pearson, over_repeats, rarest_digit_share, sweep_gain

DRAWS = 400
ALLOWED_SHORTFALL = 0.05
GOOD_ENOUGH = LEVEL - ALLOWED_SHORTFALL


def _coverage(intervals, truth) -> float:
    return float(np.mean([i["low"] is None or i["low"] <= truth <= i["high"] for i in intervals]))


def _seeds_and_images(rng, seeds=3, images=200, seed_sd=1.0, image_sd=1.0, shared_sd=1.0):
    """(draws, seeds, images) per-image values with true mean 0: a seed effect, an image effect every
    seed shares (the same test images), and each seed's own per-image noise."""
    return (rng.normal(0, seed_sd, (DRAWS, seeds, 1)) + rng.normal(0, shared_sd, (DRAWS, 1, images))
            + rng.normal(0, image_sd, (DRAWS, seeds, images)))


def test_the_t_interval_over_three_seeds_covers():
    values = np.random.default_rng(0).normal(0.0, 1.0, (DRAWS, 3))
    coverage = _coverage([t_interval(v) for v in values], 0.0)
    print(f"t over 3 seeds: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


@pytest.mark.parametrize("seed_sd", [0.5, 0.05, 0.0])   # seeds dominate (as in 03), images dominate, no seed effect
def test_the_two_level_interval_over_seeds_and_shared_images_covers(seed_sd):
    data = _seeds_and_images(np.random.default_rng(1), seed_sd=seed_sd, image_sd=1.0, shared_sd=0.5)
    coverage = _coverage([bootstrap_interval(d, resamples=200, seed=i) for i, d in enumerate(data)], 0.0)
    print(f"two-level t, seed sd {seed_sd}: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def test_the_one_seed_image_bootstrap_covers_the_image_noise():
    data = np.random.default_rng(2).exponential(1.0, (DRAWS, 200))
    coverage = _coverage([bootstrap_interval(d, resamples=300, seed=i) for i, d in enumerate(data)], 1.0)
    print(f"percentile bootstrap over images, one seed: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def test_the_former_percentile_bootstrap_over_three_seeds_does_not_cover():
    """Expected to fall short: with 3 seeds it is no wider than their range (coverage about 73%)."""
    data = _seeds_and_images(np.random.default_rng(1), seed_sd=0.5, image_sd=1.0, shared_sd=0.0)
    coverage = _coverage([percentile_over_seeds(d, resamples=200, seed=i) for i, d in enumerate(data)], 0.0)
    print(f"former percentile bootstrap over 3 seeds: {coverage:.3f}")
    assert coverage < GOOD_ENOUGH


def _sweep(data) -> dict:
    """(seeds, repeats) gains as 04's data sweep holds them: {share: {seed: distances per repeat}}."""
    return {0.25: {s: list(row) for s, row in enumerate(data)}, 1.0: {s: [0.0] * len(row) for s, row in enumerate(data)}}


@pytest.mark.parametrize("seed_sd", [1.0, 0.1, 0.0])   # the seeds' spread dominates, is small, is absent
def test_the_data_sweep_s_two_seeds_and_shared_repeats_cover(seed_sd):
    """04's data sweep: a gain per training seed (2), each measured on 5 repeats that every seed shares (the
    same real samples) and on its own generated images."""
    data = _seeds_and_images(np.random.default_rng(7), seeds=2, images=5, seed_sd=seed_sd, image_sd=0.5, shared_sd=0.5)
    coverage = _coverage([sweep_gain(_sweep(d)) for d in data], 0.0)
    print(f"data sweep, 2 seeds x 5 repeats, seed sd {seed_sd}: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def test_welch_satterthwaite_s_df_over_two_seeds_does_not_cover():
    """Expected to fall short: with 2 seeds the seed variance has one degree of freedom, and where it is
    small by chance, Welch–Satterthwaite's df is large and the interval too narrow (about 86%)."""
    data = _seeds_and_images(np.random.default_rng(7), seeds=2, images=5, seed_sd=1.0, image_sd=0.5, shared_sd=0.5)
    coverage = _coverage([bootstrap_interval(d, resamples=200, seed=i) for i, d in enumerate(data)], 0.0)
    print(f"two-level t, Welch-Satterthwaite df, 2 seeds x 5 repeats: {coverage:.3f}")
    assert coverage < GOOD_ENOUGH


def test_the_t_interval_over_five_repeats_covers():
    """04's final measurements: 5 independent repeats (fresh real and generated images each)."""
    ratios = np.random.default_rng(8).normal(3.0, 0.2, (DRAWS, 5))
    coverage = _coverage([over_repeats(r) for r in ratios], 3.0)
    print(f"t over 5 repeats: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def _ar1(rng, points, phi):
    """(DRAWS, points) stationary AR(1) noise, unit innovations."""
    noise = rng.normal(size=(DRAWS, points))
    series = np.empty_like(noise)
    series[:, 0] = noise[:, 0] / np.sqrt(1 - phi ** 2)
    for t in range(1, points):
        series[:, t] = phi * series[:, t - 1] + noise[:, t]
    return series


@pytest.mark.parametrize("points, phi", [(30, 0.0), (30, 0.5), (15, 0.5)])
def test_the_trend_interval_allowing_for_autocorrelation_covers(points, phi):
    slope = 0.1
    data = _ar1(np.random.default_rng(3), points, phi) + slope * np.arange(points)
    fits = [trends.slope_interval(y) for y in data]
    coverage = _coverage(fits, slope)
    undecided = np.mean([f["low"] is None for f in fits])
    print(f"trend, n_eff t, {points} points, phi {phi}: {coverage:.3f} ({undecided:.3f} without an interval)")
    assert coverage >= GOOD_ENOUGH


def test_theil_sen_on_autocorrelated_epochs_does_not_cover():
    """Expected to fall short: Sen's interval takes the epochs as independent."""
    data = _ar1(np.random.default_rng(3), 30, 0.5)
    x = np.arange(30.0)
    fits = [theilslopes(y, x, alpha=LEVEL) for y in data]
    coverage = _coverage([{"low": f[2], "high": f[3]} for f in fits], 0.0)
    print(f"former Theil-Sen, 30 points, phi 0.5: {coverage:.3f}")
    assert coverage < GOOD_ENOUGH


@pytest.mark.parametrize("points, phi", [(10, 0.5), (15, 0.8), (30, 0.0), (30, 0.5)])
def test_the_robust_trend_interval_allowing_for_autocorrelation_covers(points, phi):
    """Theil-Sen with Sen's interval widened for autocorrelation: the slope behind "stable"."""
    slope = 0.1
    data = _ar1(np.random.default_rng(5), points, phi) + slope * np.arange(points)
    fits = [trends.robust_slope_interval(y) for y in data]
    coverage = _coverage(fits, slope)
    undecided = np.mean([f["low"] is None for f in fits])
    print(f"Theil-Sen, n_eff, {points} points, phi {phi}: {coverage:.3f} ({undecided:.3f} without an interval)")
    assert coverage >= GOOD_ENOUGH
    assert phi > 0.5 or undecided < 0.5   # an interval missing too often would cover by default


def test_the_stable_drift_interval_covers():
    """The drift "stable" reads: the tail's slope x epochs / the tail's median, on a series at level 100."""
    epochs, slope = 20, 0.5
    series = 100 + slope * np.arange(1, epochs + 1) + 2 * _ar1(np.random.default_rng(6), epochs, 0.5)
    truth = slope * epochs / (100 + slope * np.mean(np.arange(epochs // 2 + 1, epochs + 1)))
    fits = [trends.drift(y) for y in series]
    coverage = _coverage(fits, truth)
    print(f"drift over the last half, 20 epochs, phi 0.5: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


SHARES = np.full(10, 0.1)   # ten equal shares: the rarest digit's hardest case, every digit could be the rarest


def test_the_rarest_digits_simultaneous_interval_covers():
    counts = np.random.default_rng(4).multinomial(1000, SHARES, size=DRAWS)
    digits = [np.repeat(np.arange(10), c) for c in counts]
    coverage = _coverage([rarest_digit_share(d) for d in digits], SHARES.min())
    print(f"rarest digit, Bonferroni over ten: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def test_the_smallest_of_ten_separate_intervals_does_not_cover():
    """Expected to fall short: each digit's 95% interval alone, then their smallest bounds (about 77%)."""
    counts = np.random.default_rng(4).multinomial(1000, SHARES, size=DRAWS)
    low, high = clopper_pearson(counts, 1000, LEVEL)
    coverage = float(np.mean((low.min(axis=1) <= SHARES.min()) & (SHARES.min() <= high.min(axis=1))))
    print(f"former rarest digit, ten separate 95% intervals: {coverage:.3f}")
    assert coverage < GOOD_ENOUGH


def _prior_fit_draws(rng, images, dimensions, sd):
    return rng.normal(0, sd, (DRAWS, images, dimensions)), 0.5 * (sd ** 2 - 1 - np.log(sd ** 2))


def test_the_prior_match_interval_over_images_covers():
    """03's "approximates N(0, I)": the Gaussian fit's KL per dimension, bias removed, one seed, the normal
    bootstrap over the images, on q(z) = N(0, 0.9² I_4) with 300 draws."""
    draws, truth = _prior_fit_draws(np.random.default_rng(8), 300, 4, 0.9)
    intervals = [bootstrap_interval([z], gaussian_fit_kl_per_dimension, resamples=100, seed=i, method="normal")
                 for i, z in enumerate(draws)]
    coverage = _coverage(intervals, truth)
    print(f"Gaussian fit's KL per dimension, normal bootstrap over images: {coverage:.3f}")
    assert coverage >= GOOD_ENOUGH


def test_the_percentile_bootstrap_of_the_prior_match_does_not_cover():
    """Expected to fall short: a resample's repeated rows shrink the covariance, so the percentiles of the
    bias-corrected KL sit above it (60 draws in 8 dimensions: about 5%)."""
    draws, truth = _prior_fit_draws(np.random.default_rng(9), 60, 8, 0.9)
    intervals = [bootstrap_interval([z], gaussian_fit_kl_per_dimension, resamples=100, seed=i) for i, z in enumerate(draws)]
    coverage = _coverage(intervals, truth)
    print(f"Gaussian fit's KL per dimension, percentile bootstrap: {coverage:.3f}")
    assert coverage < GOOD_ENOUGH
