"""The verdict interface, the intervals behind it, and notebook 03's verdicts on synthetic AE/VAE pairs."""
import numpy as np
import pytest

from labutils.metrics import verdicts
from labutils.metrics.model_pair import PairMeasurements
from labutils.metrics.uncertainty import bootstrap_interval, negated, repeat_interval, seed_range, t_interval
from labutils.summaries import verdicts as mnist_verdicts


def test_outcome_reads_the_interval_against_the_threshold():
    assert verdicts.outcome(0.1, 0.3) == verdicts.HOLDS
    assert verdicts.outcome(-0.3, -0.1) == verdicts.DOES_NOT_HOLD
    assert verdicts.outcome(-0.1, 0.3) == verdicts.WITHIN_NOISE
    assert verdicts.outcome(2.1, 3.0, threshold=2) == verdicts.HOLDS
    assert verdicts.outcome(1.5, 2.5, threshold=2) == verdicts.WITHIN_NOISE


def test_bootstrap_interval_covers_the_true_mean_and_shrinks_with_more_images():
    rng = np.random.default_rng(1)
    small = bootstrap_interval(rng.normal(0.5, 1.0, 100), seed=0)
    large = bootstrap_interval(rng.normal(0.5, 1.0, 10_000), seed=0)
    assert small["low"] < 0.5 < small["high"] and large["low"] < 0.5 < large["high"]
    assert (large["high"] - large["low"]) < 0.2 * (small["high"] - small["low"])
    assert small["seeds"] == 1 and small["images"] == 100


def test_bootstrap_over_seeds_widens_the_interval_when_seeds_disagree():
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 0.1, (3, 2000))
    agree = bootstrap_interval(noise + 1.0, seed=0)
    disagree = bootstrap_interval(noise + np.array([[0.0], [1.0], [2.0]]), seed=0)
    assert agree["estimate"] == pytest.approx(disagree["estimate"], abs=0.01)
    assert (disagree["high"] - disagree["low"]) > 10 * (agree["high"] - agree["low"])
    with pytest.raises(ValueError, match="same images"):
        bootstrap_interval([np.zeros(5), np.zeros(6)])


def test_every_seed_is_resampled_on_the_same_images():
    # Seed 1 is seed 0 shifted by 1, image by image: the pairing keeps the mean over seeds' spread that of
    # one seed. Resampling images independently per seed would let the two halves' noise add up.
    base = np.random.default_rng(3).normal(0, 1, 500)
    paired = bootstrap_interval([base, base + 1.0], seed=0)
    alone = bootstrap_interval([base], seed=0)
    assert (paired["high"] - paired["low"]) > 0.9 * (alone["high"] - alone["low"])
    seeds_equal = bootstrap_interval([base, base], seed=0)
    assert seeds_equal["high"] - seeds_equal["low"] == pytest.approx(alone["high"] - alone["low"], rel=0.15)


def test_the_basic_bootstrap_reflects_the_percentiles_about_the_estimate():
    values = np.random.default_rng(4).exponential(1.0, 300)
    percentile = bootstrap_interval(values, np.max, resamples=300, seed=0)
    basic = bootstrap_interval(values, np.max, resamples=300, seed=0, method="basic")
    assert percentile["high"] <= percentile["estimate"]             # a maximum's resamples never exceed it
    assert basic["low"] == pytest.approx(2 * basic["estimate"] - percentile["high"])
    assert basic["high"] >= basic["estimate"]
    with pytest.raises(ValueError, match="method"):
        bootstrap_interval(values, method="bca")


def test_negating_an_interval_swaps_its_bounds():
    assert negated({"estimate": 0.2, "low": -0.1, "high": 0.5, "seeds": 3}) == {"estimate": -0.2, "low": -0.5,
                                                                               "high": 0.1, "seeds": 3}
    assert negated({"estimate": 1.0, "low": None, "high": None}) == {"estimate": -1.0, "low": None, "high": None}


def test_seed_range_and_repeats():
    assert seed_range([1.0, 3.0, 2.0]) == {"estimate": 2.0, "low": 1.0, "high": 3.0, "level": None, "seeds": 3,
                                           "values": [1.0, 3.0, 2.0], "method": "range over seeds (a description)"}
    one = seed_range([0.5])
    assert one["low"] is None and one["high"] is None  # one seed: no interval, so no verdict beyond "within noise"
    repeated = repeat_interval(np.arange(101.0))
    assert repeated["estimate"] == 50.0 and repeated["low"] == pytest.approx(2.5) and repeated["repeats"] == 101


def test_the_seed_t_interval_has_n_minus_1_degrees_of_freedom_and_none_for_one_seed():
    three = t_interval([1.0, 3.0, 2.0])
    half = 4.302652729749464 * 1.0 / np.sqrt(3)       # t_{2, 0.975} · s / √3, s = 1
    assert three["low"] == pytest.approx(2.0 - half) and three["high"] == pytest.approx(2.0 + half)
    assert three["df"] == 2 and three["level"] == 0.95 and three["method"] == "t over seeds"
    assert three["low"] < 1.0 and three["high"] > 3.0   # wider than the range: 3 seeds say little
    one = t_interval([0.5])
    assert one["low"] is None and "one seed" in one["method"]
    assert verdicts.Verdict("c", "r", "t", one).outcome == verdicts.WITHIN_NOISE


def test_every_interval_says_its_method_and_level():
    rng = np.random.default_rng(5)
    for interval in (bootstrap_interval(rng.normal(size=(3, 50)), resamples=50),
                     bootstrap_interval(rng.normal(size=50)), t_interval([1.0, 2.0]), repeat_interval([1.0, 2.0, 3.0])):
        assert interval["method"] and interval["level"] == 0.95


def test_the_p_value_is_below_the_error_rate_exactly_when_the_interval_excludes_the_threshold():
    for values in ([0.1, 0.2, 0.3], [0.1, 0.2, -0.05], [-1.0, -2.0, -1.5], [0.01, 0.5, 0.9]):
        record = verdicts.Verdict("c", "r", "t", t_interval(values)).record()
        assert (record["p_value"] < record["error_rate"]) == (record["outcome"] != verdicts.WITHIN_NOISE)
    repeats = verdicts.Verdict("c", "r", "t", repeat_interval([1.0, 2.0, 3.0, 4.0, 5.0])).record()
    assert repeats["p_value"] == pytest.approx(2 / 32)   # a sign test: 5 of 5 above 0


def test_a_claim_on_two_parts_holds_when_both_do_and_fails_when_one_does_and_its_p_value_agrees():
    high, low = t_interval([3.0, 3.2, 3.1]), t_interval([1.0, 1.1, 0.9])
    straddling = t_interval([1.0, 3.0, 2.2])
    for parts, expected in (((high, high), verdicts.HOLDS), ((high, low), verdicts.DOES_NOT_HOLD),
                            ((high, straddling), verdicts.WITHIN_NOISE), ((straddling, low), verdicts.DOES_NOT_HOLD)):
        interval = verdicts.all_above(parts)
        record = verdicts.Verdict("c", "r", "t", interval, threshold=2).record()
        assert record["outcome"] == expected, parts
        assert (record["p_value"] < 0.05) == (expected != verdicts.WITHIN_NOISE), record["p_value"]
    # a part that fails is judged at 97.5% (Bonferroni over two): wider than its own 95% interval
    failing = verdicts.all_above((high, low))
    assert failing["high"] > low["high"] and failing["low"] == low["low"] and failing["estimate"] == low["estimate"]
    assert verdicts.all_above((high, t_interval([3.0])))["low"] is None      # a part without an interval


def test_holm_corrects_over_the_family():
    records = [{"p_value": p, "outcome": o} for p, o in ((0.001, verdicts.HOLDS), (0.02, verdicts.HOLDS),
                                                         (0.04, verdicts.DOES_NOT_HOLD), (0.3, verdicts.WITHIN_NOISE),
                                                         (None, verdicts.HOLDS))]
    corrected = verdicts.holm(records)
    assert [c["holm_p"] for c in corrected][:4] == pytest.approx([0.004, 0.06, 0.08, 0.3])
    assert corrected[4]["holm_p"] is None
    assert [c["survives"] for c in corrected] == [True, False, False, False, False]


def test_a_record_has_the_interface_keys_and_the_table_reads_records():
    v = verdicts.Verdict("claim", "report 1", "the test", {"estimate": 0.2, "low": -0.1, "high": 0.5, "level": 0.95,
                                                            "seeds": 3, "images": 100}, evidence="numbers")
    record = v.record()
    assert {"claim", "report", "outcome", "evidence", "interval"} <= set(record)
    assert record["outcome"] == verdicts.WITHIN_NOISE and record["point_outcome"] == verdicts.HOLDS
    assert record["interval"]["threshold"] == 0.0
    table = verdicts.table([record])
    assert table.loc[1, "verdict"] == "within noise"
    assert "0.2 [-0.1, 0.5] (95% 3 seed(s) × 100 images)" == table.loc[1, "statistic [interval]"]
    assert verdicts.changed_by_noise([record]) == ["claim"]


def test_a_verdict_keeps_the_report_s_words_and_the_lab_s_reading_beside_it():
    v = verdicts.Verdict("AE lacks generative capability", "report 1", "t",
                         {"estimate": 0.2, "low": 0.1, "high": 0.3, "level": 0.95, "seeds": 3},
                         quote="the AE lacks generative capability", reading="fails under both samplers")
    record = v.record()
    assert record["quote"] == "the AE lacks generative capability" and record["reading"] == "fails under both samplers"
    table = verdicts.table([record])
    assert table.loc[1, "the report's words"] == record["quote"] and table.loc[1, "read as"] == record["reading"]
    # a record written before the fields existed still makes a table
    old = {k: val for k, val in record.items() if k not in ("quote", "reading")}
    assert verdicts.table([old]).loc[1, "read as"] == ""


def test_the_verdict_table_shows_a_long_reading_whole():
    reading = "a reading of many words " * 10 + "and its last word"
    v = verdicts.Verdict("claim", "report 1", "t", {"estimate": 0.2, "low": 0.1, "high": 0.3, "level": 0.95,
                                                    "seeds": 3}, reading=reading)
    table = verdicts.table([v])
    assert "and its last word" in table._repr_html_()
    assert "and its last word" in table.loc[[1]]._repr_html_()  # a selection keeps it


def _pair(seed, ae_error=0.010, vae_error=0.012, kl=(10.0, 18.0, 20.0, 22.0, 23.0, 23.5, 23.8, 23.9, 24.0, 24.0),
          ae_loss=(0.03, 0.02, 0.015, 0.0151, 0.015, 0.015, 0.015, 0.015, 0.015, 0.015), ae_far=3.0, ae_fit_far=3.0,
          prior_sd=1.0, knn_vae=0.97):
    """One seed's synthetic AE/VAE pair on 400 test images: the AE's samples `ae_far` (decoding N(0, I)) and
    `ae_fit_far` (its codes' Gaussian) from the test features, the VAE's 0.3; q(z) = N(0, prior_sd² I_8)."""
    rng = np.random.default_rng(seed)
    n = 400
    test = rng.normal(0, 1, (n, 4))
    correct = lambda p: (rng.random(n) < p).astype(float)  # noqa: E731
    pair = PairMeasurements(
        seed=seed, ae_error=rng.normal(ae_error, 0.002, n), vae_error=rng.normal(vae_error, 0.002, n),
        vae_sample_error=rng.normal(vae_error + 0.004, 0.002, n), vae_kl=rng.normal(25.0, 2.0, n),
        knn_correct={"ae": correct(0.90), "vae": correct(knn_vae)}, probe_correct={"ae": correct(0.9), "vae": correct(0.9)},
        silhouette={"ae": rng.normal(0.05, 0.1, n), "vae": rng.normal(0.10, 0.1, n)},
        generated_features={"vae_prior": rng.normal(0.3, 1, (n, 4)), "ae_prior": rng.normal(ae_far, 1, (n, 4)),
                            "ae_fitted": rng.normal(ae_fit_far, 1, (n, 4)), "test": test},
        latent_samples={"vae": rng.normal(0, prior_sd, (n, 8)), "ae": rng.normal(3.0, 2.0, (n, 8))},
        test_kl=list(kl),
        aggregate={"mmd": {"mmd2": 0.002, "p_value": 0.0005, "n": n, "permutations": 2000}, "gaussian_fit_kl": 0.1})
    pair.ae_loss = list(ae_loss)  # what notebook 01 passes to ae_alone
    return pair


RECONSTRUCTION = "AE achieves better reconstruction (lower loss); report 2 claims the opposite"
PRIOR = "The KL term ensures the latent space approximates a standard normal distribution"


def _by_claim(pairs):
    everything = (mnist_verdicts.ae_alone([p.ae_loss for p in pairs]) + mnist_verdicts.vae_alone([p.test_kl for p in pairs])
                  + mnist_verdicts.decide(pairs))
    return {v.claim: v for v in everything}


def test_mnist_verdicts_follow_the_measurements():
    v = _by_claim([_pair(s) for s in range(3)])
    for verdict in v.values():  # every estimate inside its own interval
        assert verdict.interval["low"] <= verdict.interval["estimate"] <= verdict.interval["high"], verdict.claim
    assert v[RECONSTRUCTION].outcome == verdicts.HOLDS
    assert "report 2's (the VAE lower): does not hold" in v[RECONSTRUCTION].evidence
    assert v["AE loss plateaus lower than VAE"].outcome == verdicts.HOLDS
    assert v["AE loss plateaus"].outcome == verdicts.HOLDS
    assert v["The VAE's latent space is more structured"].outcome == verdicts.HOLDS
    assert v["KL divergence increases initially"].outcome == verdicts.HOLDS
    assert v["KL divergence stabilises"].outcome == verdicts.HOLDS
    assert v["AE lacks generative capability"].outcome == verdicts.HOLDS     # both samplers fail
    prior = v[PRIOR]
    assert prior.outcome == verdicts.HOLDS and prior.interval["high"] < mnist_verdicts.PRIOR_TOLERANCE
    assert prior.notes["ae_reference"]["low"] > 10 * mnist_verdicts.PRIOR_TOLERANCE   # codes N(3, 4 I): far
    assert "p = 0.0005" in prior.evidence and "2000 permutations" in prior.evidence


def test_one_verdict_per_statistic_each_quoting_its_report():
    decided = mnist_verdicts.decide([_pair(s) for s in range(2)])
    assert len(decided) == 5 and len({v.test for v in decided}) == 5
    for v in decided:
        assert v.quote and v.reading and v.report in ("report 1", "both reports"), v.claim
    both = [v for v in decided if v.report == "both reports"]
    assert all("report 1:" in v.quote and "report 2:" in v.quote for v in both)
    records = verdicts.as_records(decided)             # Holm over the changed family: every verdict has a p
    assert all(r["p_value"] is not None for r in records) and len(verdicts.holm(records)) == 5
    generative = verdicts.table(records).loc[4, "statistic [interval]"]
    assert "all of 2 parts, each 2 seed(s) × 400 images: the smallest low, the smallest 97.5% high" in generative


def test_mnist_verdicts_flip_when_the_measurements_do():
    v = _by_claim([_pair(s, ae_error=0.012, vae_error=0.010, kl=(24.0, 20.0, 19.0, 19.0, 19.0, 19.0, 18.0, 17.0, 16.0, 15.0),
                         ae_far=0.3, ae_fit_far=0.3, prior_sd=0.6, knn_vae=0.8) for s in range(2)])
    assert v[RECONSTRUCTION].outcome == verdicts.DOES_NOT_HOLD
    assert "report 2's (the VAE lower): holds" in v[RECONSTRUCTION].evidence
    assert v["KL divergence increases initially"].outcome == verdicts.DOES_NOT_HOLD
    assert v["KL divergence stabilises"].outcome == verdicts.DOES_NOT_HOLD      # drifts by far more than 5%
    assert v["The VAE's latent space is more structured"].outcome == verdicts.DOES_NOT_HOLD
    assert v["AE lacks generative capability"].outcome == verdicts.DOES_NOT_HOLD
    assert v[PRIOR].outcome == verdicts.DOES_NOT_HOLD    # N(0, 0.36 I): 0.19 nats per dimension
    short = _by_claim([_pair(s, ae_loss=(0.03, 0.02)) for s in range(2)])
    assert short["AE loss plateaus"].outcome == verdicts.WITHIN_NOISE           # 2 epochs cannot show a plateau
    assert "cannot show a plateau" in short["AE loss plateaus"].evidence
    one_seed = _by_claim([_pair(0)])
    assert one_seed["KL divergence stabilises"].outcome == verdicts.WITHIN_NOISE   # training noise unmeasured


def test_the_ae_generates_when_one_of_its_samplers_does():
    """Far on N(0, I) but near on its codes' Gaussian: the AE has the capability (Ghosh et al. 2020)."""
    v = _by_claim([_pair(s, ae_far=3.0, ae_fit_far=0.3) for s in range(3)])
    generative = v["AE lacks generative capability"]
    assert generative.outcome == verdicts.DOES_NOT_HOLD
    first, fitted = generative.interval["parts"]
    assert verdicts.outcome(first["low"], first["high"], 2) == verdicts.HOLDS    # N(0, I) alone would say "lacks"
    assert generative.interval["estimate"] == fitted["estimate"] < 2


def test_seeds_that_disagree_leave_a_trend_claim_within_noise():
    rising, falling = (10.0, 18.0, *[21.0] * 8), (10.0, 9.0, *[9.0] * 8)   # epoch 2 ends the first 20%
    v = _by_claim([_pair(0, kl=rising), _pair(1, kl=falling)])
    assert v["KL divergence increases initially"].outcome == verdicts.WITHIN_NOISE
    assert v["KL divergence increases initially"].interval["values"] == [8.0, -1.0]


def test_a_claim_that_needs_the_statistic_below_its_threshold():
    assert verdicts.outcome(1.2, 1.8, threshold=2, direction="below") == verdicts.HOLDS
    assert verdicts.outcome(2.5, 3.0, threshold=2, direction="below") == verdicts.DOES_NOT_HOLD
    assert verdicts.outcome(None, None) == verdicts.WITHIN_NOISE
    assert verdicts.point_outcome(float("nan")) == verdicts.WITHIN_NOISE     # no estimate, no reading
    with pytest.raises(ValueError, match="direction"):
        verdicts.outcome(0.1, 0.2, direction="up")
    assert verdicts.point_outcome(2.5, threshold=2, direction="below") == verdicts.DOES_NOT_HOLD
    v = verdicts.Verdict("c", "r", "t", {"estimate": 3.0, "low": None, "high": None, "level": 0.95, "points": 0})
    assert v.outcome == verdicts.WITHIN_NOISE and "no interval" in verdicts.table([v]).loc[1, "statistic [interval]"]


def test_the_reading_names_the_claims_that_noise_changed():
    sure = verdicts.Verdict("sure", "r", "t", {"estimate": 1.0, "low": 0.5, "high": 1.5})
    unsure = verdicts.Verdict("unsure", "r", "t", {"estimate": 0.1, "low": -0.5, "high": 0.7})
    text = mnist_verdicts.reading([sure, unsure]).data
    assert text.startswith("Of 2 claims, 1 hold, 0 do not and 1 are within noise.")
    assert "\"unsure\" as *holds*" in text and "\"sure\"" not in text
    assert "no interval reaches" in mnist_verdicts.reading([sure]).data
