"""Notebook 04's verdicts on the GAN: each flips when the measurements behind it do, each is the report's."""
from pathlib import Path

import numpy as np
import pytest

from labutils.metrics import verdicts
from labutils.summaries import gan_verdicts

EPOCHS = 20
SWD_EPOCHS = [1, 3, 6, 9, 12, 15, 18, 20]   # enough points for a trend's interval that allows for autocorrelation
REPORTS = Path("/work/shared/reports")


def _epochs(g_slope=-0.05, d_level=1.2, d_drift=0.0):
    rng = np.random.default_rng(0)
    return [{"train_g_loss": 2.0 + g_slope * e + rng.normal(0, 0.01),
             "train_d_loss": d_level * (1 + d_drift * e / EPOCHS) + rng.normal(0, 0.005)} for e in range(EPOCHS)]


def _diversity(ratio=0.9, repeats=10):
    s = lambda m, spread=0.02: {"mean": m, "low": m - spread, "high": m + spread}  # noqa: E731
    values = list(ratio + 0.01 * np.random.default_rng(1).standard_normal(repeats))
    return {"k": 3, "repeats": repeats, "recall_ratio": values,
            "summary": {"recall_ratio": s(ratio), "recall": s(0.6 * ratio), "floor_recall": s(0.6), "precision": s(0.7)}}


def _sweep(small=(70.0, 72.0), whole=(40.0, 42.0)):
    """Two training seeds per share, five repeats each (the seed's level plus a repeat's noise)."""
    noise = [0.0, 0.5, -0.5, 0.3, -0.3]
    return {0.25: {s: [small[i] + e for e in noise] for i, s in enumerate((1, 2))},
            1.0: {s: [whole[i] + e for e in noise] for i, s in enumerate((1, 2))}}


def _verdicts(**changes):
    args = {"epochs": _epochs(), "swd_epochs": SWD_EPOCHS, "swd_series": [90.0, 79.0, 76.0, 64.0, 61.0, 49.0, 46.0, 37.0],
            "quality": {"swd": [40.0, 42.0, 41.0, 40.5, 41.5], "floor": [13.0, 14.0, 13.5, 13.2, 13.8], "n": 512},
            "diversity": _diversity(), "data_sweep": _sweep(), **changes}
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
                quality={"swd": [20.0, 22.0, 21.0], "floor": [13.0, 14.0, 13.5]}, diversity=_diversity(0.2),
                data_sweep=_sweep(small=(40.0, 41.0), whole=(45.0, 46.0)))
    assert v["The generator's loss decreases as it fools the discriminator"] == verdicts.DOES_NOT_HOLD
    assert v["The discriminator's loss stabilises"] == verdicts.DOES_NOT_HOLD
    assert v["The generated images are of a quality comparable to the original data set"] == verdicts.HOLDS
    assert v["The generated images are diverse"] == verdicts.DOES_NOT_HOLD
    assert v["Quality improves with more epochs"] == verdicts.DOES_NOT_HOLD
    assert v["Quality improves with more training data"] == verdicts.DOES_NOT_HOLD
    flat = _decide(epochs=_epochs(g_slope=0.0))
    assert flat["The losses indicate convergence"] == verdicts.HOLDS


def test_the_data_sweep_needs_two_seeds_and_counts_their_spread():
    claim = "Quality improves with more training data"
    one_seed = {f: {1: runs[1]} for f, runs in _sweep().items()}
    undecided = {v.claim: v for v in _verdicts(data_sweep=one_seed)}[claim]
    assert undecided.outcome == verdicts.WITHIN_NOISE and "cannot be decided" in undecided.evidence
    # Each seed alone is clear (repeats within ±0.5), but the two seeds disagree on the gain: +30 and -2.
    split = {v.claim: v for v in _verdicts(data_sweep=_sweep(small=(70.0, 41.0), whole=(40.0, 43.0)))}[claim]
    assert split.outcome == verdicts.WITHIN_NOISE and split.interval["seeds"] == 2
    assert split.interval["seed_values"] == pytest.approx([30.0, -2.0])


def test_one_epoch_gives_no_trend_and_mnist_adds_its_digit_verdicts():
    v = _decide(epochs=_epochs()[:1], swd_epochs=[1], swd_series=[90.0], data_sweep={1.0: {1: [40.0, 41.0]}})
    assert v["The generator's loss decreases as it fools the discriminator"] == verdicts.WITHIN_NOISE
    assert v["The discriminator's loss stabilises"] == verdicts.WITHIN_NOISE
    assert "Quality improves with more training data" not in v
    digits = np.repeat(np.arange(10), 50)
    mnist = _decide(classifier_quality={"distance": [30.0, 31.0], "floor": [2.0, 2.1]}, digits=digits)
    assert mnist["The generated digits are of a quality comparable to MNIST"] == verdicts.DOES_NOT_HOLD
    assert mnist["The generated digits are diverse: every digit is drawn"] == verdicts.HOLDS
    assert _decide(digits=np.repeat(np.arange(9), 50))["The generated digits are diverse: every digit is drawn"] \
        == verdicts.DOES_NOT_HOLD


def test_each_verdict_is_the_report_s_that_makes_the_claim_and_says_how_it_is_read():
    digits = np.repeat(np.arange(10), 50)
    by_claim = {v.claim.split(" (")[0]: v for v in _verdicts(
        classifier_quality={"distance": [30.0, 31.0], "floor": [2.0, 2.1]}, digits=digits)}
    reports = {claim: v.report for claim, v in by_claim.items()}
    assert reports["The losses indicate convergence"] == "report 2"
    assert reports["The generated images are of a quality comparable to the original data set"] == "report 2"
    for claim in ("The generator's loss decreases as it fools the discriminator", "The discriminator's loss stabilises",
                  "The generated images are diverse", "Quality improves with more epochs",
                  "Quality improves with more training data"):
        assert reports[claim] == "report 1", claim
    assert reports["The generated digits are of a quality comparable to MNIST"] == gan_verdicts.THE_LAB
    assert all(v.reading for v in by_claim.values())
    assert all(v.quote for claim, v in by_claim.items() if v.report != gan_verdicts.THE_LAB)
    comparable = by_claim["The generated images are of a quality comparable to the original data set"]
    assert "512 images per set" in comparable.reading and "with some artifacts" in comparable.reading
    convergence = by_claim["The losses indicate convergence"]
    assert "Training is unstable" in convergence.evidence and "does not hold" in convergence.outcome + convergence.evidence
    stable = by_claim["The discriminator's loss stabilises"]
    assert "would hold for any tolerance above" in stable.evidence and "One training run" in stable.evidence


@pytest.mark.skipif(not REPORTS.is_dir(), reason="the reports' texts are not on this machine")
def test_the_quotes_are_the_reports_own_words():
    texts = [p.read_text().replace("**", "") for p in sorted(REPORTS.glob("*.txt"))]
    for key, quote in gan_verdicts.QUOTES.items():
        assert any(quote in text for text in texts), key


def test_each_verdict_s_p_value_agrees_with_its_interval():
    # Every interval here is a t interval (trends, margins, repeats, seeds) or the digits' exact tests:
    # each decides at p < error rate exactly when its interval does.
    digits = np.repeat(np.arange(10), [100] * 9 + [30])
    for flat in (0.0, 0.03):
        for v in _verdicts(epochs=_epochs(g_slope=flat), digits=digits):
            r = v.record()
            if r["p_value"] is None:
                continue
            assert (r["p_value"] < r["error_rate"]) == (r["outcome"] != verdicts.WITHIN_NOISE), r["claim"]
