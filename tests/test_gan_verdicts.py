"""Notebook 04's verdicts on the GAN: each flips when the measurements behind it do."""
import numpy as np

from labutils.metrics import verdicts
from labutils.summaries import gan_verdicts

EPOCHS = 20
SWD_EPOCHS = [1, 3, 6, 9, 12, 15, 18, 20]   # enough points for a trend's interval that allows for autocorrelation


def _epochs(g_slope=-0.05, d_level=1.2, d_drift=0.0):
    rng = np.random.default_rng(0)
    return [{"train_g_loss": 2.0 + g_slope * e + rng.normal(0, 0.01),
             "train_d_loss": d_level * (1 + d_drift * e / EPOCHS) + rng.normal(0, 0.005)} for e in range(EPOCHS)]


def _diversity(ratio=0.9):
    s = lambda m, spread=0.02: {"mean": m, "low": m - spread, "high": m + spread}  # noqa: E731
    return {"k": 3, "repeats": 5, "summary": {"recall_ratio": s(ratio), "recall": s(0.6 * ratio), "floor_recall": s(0.6),
                                               "precision": s(0.7)}}


def _verdicts(**changes):
    args = {"epochs": _epochs(), "swd_epochs": SWD_EPOCHS, "swd_series": [90.0, 79.0, 76.0, 64.0, 61.0, 49.0, 46.0, 37.0],
            "quality": {"swd": [40.0, 42.0, 41.0], "floor": [13.0, 14.0, 13.5]}, "diversity": _diversity(),
            "data_sweep": {0.25: [70.0, 72.0, 71.0], 1.0: [40.0, 42.0, 41.0]}, **changes}
    return gan_verdicts.decide(**args)


def _decide(**changes):
    return {v.claim.split(" (")[0]: v.outcome for v in _verdicts(**changes)}


def test_every_estimate_lies_in_its_interval():
    digits = np.repeat(np.arange(10), 100)
    for v in _verdicts(classifier_quality={"distance": [30.0, 31.0], "floor": [2.0, 2.1]}, digits=digits):
        assert v.interval["low"] <= v.interval["estimate"] <= v.interval["high"], v.claim


def test_a_straddling_trend_is_within_noise_both_ways():
    rng = np.random.default_rng(5)
    noisy = [{"train_g_loss": 2.0 + rng.normal(0, 0.3), "train_d_loss": 1.2} for _ in range(EPOCHS)]
    assert _decide(epochs=noisy)["The generator's loss decreases as it fools the discriminator"] == verdicts.WITHIN_NOISE
    falling = gan_verdicts.slope_interval([10.0, 8.0, 6.0, 4.0, 2.0, 0.0, -2.0, -4.0])
    assert falling["estimate"] == -2.0 and falling["low"] <= -2.0 <= falling["high"]   # slope of y on x, not x on y
    assert gan_verdicts.slope_interval([1.0, 2.0, 3.0, 4.0])["low"] is None   # too few points for an interval
    # 5 points cannot tell a trend from autocorrelated noise: the lag-1 correction leaves under 3 effective points
    five = gan_verdicts.slope_interval([1.0, 2.0, 3.0, 4.0, 5.0])
    assert five["low"] is None and five["effective_points"] < 3 and five["lag1_autocorrelation"] is not None
    assert gan_verdicts.slope_interval(np.arange(8.0) + [0, .1, -.1, .1, -.1, .1, -.1, 0])["low"] is not None


def test_the_gan_verdicts_read_the_trends_and_the_measurements():
    v = _decide()
    assert v["The generator's loss decreases as it fools the discriminator"] == verdicts.HOLDS
    assert v["The discriminator's loss stabilises"] == verdicts.HOLDS
    assert v["The losses indicate convergence"] == verdicts.DOES_NOT_HOLD   # G's loss falls by 30% over the last half
    assert v["The generated images are of a quality comparable to the original data set"] == verdicts.DOES_NOT_HOLD
    assert v["The generated images are diverse"] == verdicts.HOLDS
    assert v["Quality improves with more epochs"] == verdicts.HOLDS
    assert v["Quality improves with more training data"] == verdicts.HOLDS


def test_the_gan_verdicts_flip():
    v = _decide(epochs=_epochs(g_slope=0.03, d_drift=0.5), swd_series=[40.0, 44.0, 50.0, 56.0, 62.0, 68.0, 74.0, 80.0],
                quality={"swd": [20.0, 22.0], "floor": [13.0, 14.0]}, diversity=_diversity(0.2),
                data_sweep={0.25: [40.0, 41.0], 1.0: [45.0, 46.0]})
    assert v["The generator's loss decreases as it fools the discriminator"] == verdicts.DOES_NOT_HOLD
    assert v["The discriminator's loss stabilises"] == verdicts.DOES_NOT_HOLD
    assert v["The generated images are of a quality comparable to the original data set"] == verdicts.HOLDS
    assert v["The generated images are diverse"] == verdicts.DOES_NOT_HOLD
    assert v["Quality improves with more epochs"] == verdicts.DOES_NOT_HOLD
    assert v["Quality improves with more training data"] == verdicts.DOES_NOT_HOLD
    flat = _decide(epochs=_epochs(g_slope=0.0))
    assert flat["The losses indicate convergence"] == verdicts.HOLDS


def test_one_epoch_gives_no_trend_and_mnist_adds_its_digit_verdicts():
    v = _decide(epochs=_epochs()[:1], swd_epochs=[1], swd_series=[90.0], data_sweep={1.0: [40.0, 41.0]})
    assert v["The generator's loss decreases as it fools the discriminator"] == verdicts.WITHIN_NOISE
    assert "Quality improves with more training data" not in v
    digits = np.repeat(np.arange(10), 50)
    mnist = _decide(classifier_quality={"distance": [30.0, 31.0], "floor": [2.0, 2.1]}, digits=digits)
    assert mnist["The generated digits are of a quality comparable to MNIST"] == verdicts.DOES_NOT_HOLD
    assert mnist["The generated digits are diverse: every digit is drawn"] == verdicts.HOLDS
    assert _decide(digits=np.repeat(np.arange(9), 50))["The generated digits are diverse: every digit is drawn"] \
        == verdicts.DOES_NOT_HOLD


def test_each_trend_and_digit_verdict_s_p_value_agrees_with_its_interval():
    # A t interval (trends, margins) and the digits' exact tests decide at p < error rate exactly when the
    # interval does; repeats' sign test is left out: with 5 repeats it cannot go below 0.0625 (see p_value).
    digits = np.repeat(np.arange(10), [100] * 9 + [30])
    for flat in (0.0, 0.03):
        for v in _verdicts(epochs=_epochs(g_slope=flat), digits=digits):
            r = v.record()
            if r["p_value"] is None or "repeats" in r["interval"]:
                continue
            assert (r["p_value"] < r["error_rate"]) == (r["outcome"] != verdicts.WITHIN_NOISE), r["claim"]
