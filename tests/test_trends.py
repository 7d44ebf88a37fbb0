"""The one definition of "stable" (labutils.metrics.trends): robust to one wild epoch, strict on a drift."""
import numpy as np
import pytest
from scipy.stats import theilslopes

from labutils.metrics import trends, verdicts

EPOCHS = 40


def _loss(rng, tail_drift=0.0, noise=0.005):
    """A loss that falls over the first half and then sits at 1.0, drifting by `tail_drift` of its level
    across the last half, with independent per-epoch noise."""
    first = 1.0 + 2.0 * np.exp(-np.arange(EPOCHS // 2) / 3.0)
    last = 1.0 + tail_drift * np.linspace(0, 1, EPOCHS - EPOCHS // 2)
    return np.concatenate([first, last]) * (1 + rng.normal(0, noise, EPOCHS))


def test_one_wild_epoch_at_the_end_of_a_flat_tail_reads_as_stable():
    series = _loss(np.random.default_rng(0))
    series[-1] *= 1.15
    stable = trends.stability(series)
    assert abs(stable["drift"]["estimate"]) < 0.01                            # the blip barely moves the slope
    assert verdicts.outcome(stable["low"], stable["high"]) == verdicts.HOLDS
    # the former reading (least squares over the last 20%, relative to the last value) saw a drift of 2% or more
    assert abs(trends.trend(series)["tail_relative_change"]) > 0.02


def test_a_steady_drift_of_five_percent_over_the_tail_reads_as_not_stable():
    stable = trends.stability(_loss(np.random.default_rng(1), tail_drift=0.05, noise=0.002))
    assert stable["drift"]["estimate"] == pytest.approx(0.10, abs=0.01)        # as long again: twice the tail's 5%
    assert verdicts.outcome(stable["low"], stable["high"]) == verdicts.DOES_NOT_HOLD
    assert 0.05 < stable["fails_below"] < stable["drift"]["estimate"] < stable["holds_above"]


def test_the_tolerances_at_which_the_verdict_flips():
    series = _loss(np.random.default_rng(2), tail_drift=0.02, noise=0.01)
    stable = trends.stability(series)
    above = trends.stability(series, tolerance=stable["holds_above"] + 1e-6)
    below = trends.stability(series, tolerance=stable["fails_below"] - 1e-6)
    assert verdicts.outcome(above["low"], above["high"]) == verdicts.HOLDS
    assert verdicts.outcome(below["low"], below["high"]) in (verdicts.DOES_NOT_HOLD, verdicts.WITHIN_NOISE)
    if stable["fails_below"] > 0:   # the drift's interval excludes 0: below its near bound, it fails
        assert verdicts.outcome(below["low"], below["high"]) == verdicts.DOES_NOT_HOLD


def test_the_slope_is_theil_sen_s_and_its_p_value_decides_as_its_interval():
    series = _loss(np.random.default_rng(3), tail_drift=0.03, noise=0.01)
    tail_x = np.arange(EPOCHS // 2 + 1, EPOCHS + 1)
    fit = trends.robust_slope_interval(series[EPOCHS // 2:], tail_x)
    assert fit["estimate"] == pytest.approx(theilslopes(series[EPOCHS // 2:], tail_x)[0])
    assert fit["estimate"] - fit["low"] == pytest.approx(fit["high"] - fit["estimate"])   # symmetric
    for tolerance in (0.02, 0.04, 0.06, 0.08, 0.12):
        margin = trends.stability(series, tolerance=tolerance)
        p = verdicts.p_value(margin)
        assert (p < 0.05) == (verdicts.outcome(margin["low"], margin["high"]) != verdicts.WITHIN_NOISE), tolerance


def test_a_run_too_short_for_a_tail_has_no_reading():
    short = trends.stability([3.0, 2.0, 1.5, 1.4])
    assert short["low"] is None and np.isnan(short["estimate"])
    assert trends.drift(np.ones(4))["method"].startswith("none")
