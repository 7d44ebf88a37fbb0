import pytest

from labtools import gan_search
from labutils.config import GANConfig


def _row(name, seed, ratio, ms=100.0, recall=1.0):
    return {"candidate": name, "seed": seed, "ratio": ratio, "ms_per_update": ms, "updates_per_epoch": 44,
            "recall_ratio": recall}


def test_the_table_gives_each_recipes_t_interval_and_its_paired_difference_from_the_reports():
    other = "RpGAN + R1 + R2 + EMA"
    rows = [_row(gan_search.REFERENCE, s, r) for s, r in zip((1, 2, 3), (2.0, 3.0, 4.0))]
    rows += [_row(other, s, r, ms=150.0) for s, r in zip((1, 2, 3), (1.0, 2.0, 3.0))]
    for row in rows:  # runs measured before diversity was: no mean to give
        del row["recall_ratio"]
    lines = gan_search.table(rows).splitlines()
    reference = next(line for line in lines if line.startswith(f"| {gan_search.REFERENCE} |"))
    candidate = next(line for line in lines if line.startswith(f"| {other} |"))
    # mean 3, sd 1 over 3 seeds: 3 +- t(2, 0.975) * 1 / sqrt(3) = 3 +- 2.48
    assert "| 3.00 [0.52, 5.48] | — | — | 100 | 4.4 |" in reference
    # every seed 1 below the reports': the paired difference is exactly -1, whatever the seeds' spread
    assert "| 2.00 [-0.48, 4.48] | -1.00 [-1.00, -1.00] | — | 150 | 6.6 |" in candidate
    for row, recall in zip(rows[3:], (0.2, 0.4, 0.9)):  # diversity measured on every seed: its mean
        row["recall_ratio"] = recall
    assert "| -1.00 [-1.00, -1.00] | 0.50 | 150 |" in gan_search.table(rows)


def test_every_candidate_is_a_valid_config_with_its_own_run_unless_it_samples_g_itself():
    configs = {name: gan_search.candidate_config(changes, image_size=32) for name, changes in gan_search.CANDIDATES.items()}
    trained = {config.run_id() for config, g_itself in configs.values() if not g_itself}
    assert len(trained) == sum(not g_itself for _, g_itself in configs.values())
    for config, g_itself in configs.values():
        if g_itself:  # the same training as a candidate that samples the average: no run of its own
            assert config.ema and config.run_id() in trained
    assert configs[gan_search.REFERENCE][0].run_id() == GANConfig(image_size=32).run_id()


def test_the_final_comparisons_seeds_and_real_samples_are_refused_to_the_search_and_back(capsys):
    with pytest.raises(SystemExit):
        gan_search.main(["--seeds", str(gan_search.FINAL_SEEDS[0])])
    assert "the final comparison keeps for itself" in capsys.readouterr().err
    # a search seed whose second repeat's real sample is a final seed's (REPEAT_SEED_STRIDE apart)
    with pytest.raises(SystemExit):
        gan_search.main(["--seeds", str(gan_search.FINAL_SEEDS[0] - gan_search.REPEAT_SEED_STRIDE)])
    assert "the final comparison keeps for itself" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        gan_search.main(["--compare", "RpGAN + R1 + R2 + EMA", "--seeds", str(gan_search.SEARCH_SEEDS[0])])
    assert "the search keeps for itself" in capsys.readouterr().err
    assert not gan_search.measurement_seeds(gan_search.SEARCH_SEEDS) & gan_search.measurement_seeds(gan_search.FINAL_SEEDS)


def test_budgets_follow_notebook_04s_profiles():
    assert gan_search.budget("quick") == {"profile": "quick", "image_size": 32, "num_epochs": 20, "swd_images": 512}
    assert gan_search.budget("full", epochs=30) == {"profile": "full", "image_size": 64, "num_epochs": 30,
                                                    "swd_images": 1024}


def test_the_recommendation_is_the_lowest_mean_unless_a_materially_cheaper_one_is_within_five_percent():
    rows = [_row("a", s, r, ms=200.0) for s, r in zip((1, 2), (2.0, 2.2))]        # mean 2.10, dear
    rows += [_row("b", s, r, ms=100.0) for s, r in zip((1, 2), (2.1, 2.2))]       # mean 2.15: within 5 %, half the cost
    rows += [_row("c", s, r, ms=50.0) for s, r in zip((1, 2), (3.0, 3.0))]        # cheapest, far behind
    rows += [_row("d", 1, 1.0, ms=10.0), _row("d", 3, 1.0, ms=10.0)]             # not measured on seed 2: left out
    assert gan_search.recommend(rows, seeds=(1, 2)) == "b"
    assert gan_search.recommend(rows, seeds=(1, 2), tolerance=0.01) == "a"
    close = [_row("a", s, r, ms=200.0) for s, r in zip((1, 2), (2.0, 2.2))]
    close += [_row("e", s, r, ms=190.0) for s, r in zip((1, 2), (2.1, 2.2))]      # only 5 % cheaper: noise
    assert gan_search.recommend(close, seeds=(1, 2)) == "a"
    with pytest.raises(ValueError, match="nothing to recommend"):
        gan_search.recommend(rows, seeds=(1, 2, 3, 4))
    # the reports' set-up is what a recommendation is measured against, never the recommendation
    best_reference = rows + [_row(gan_search.REFERENCE, s, 0.5, ms=1.0) for s in (1, 2)]
    assert gan_search.recommend(best_reference, seeds=(1, 2)) == "b"


def test_a_collapsed_candidate_is_never_recommended_however_close_it_is():
    rows = [_row("sharp but collapsed", s, 1.0, recall=r) for s, r in zip((1, 2), (0.1, 0.3))]   # mean 0.2
    rows += [_row("diverse", s, 3.0, recall=r) for s, r in zip((1, 2), (0.4, 0.7))]               # mean 0.55
    assert gan_search.recommend(rows, seeds=(1, 2)) == "diverse"
    assert gan_search.recommend(rows, seeds=(1, 2), min_recall=0.0) == "sharp but collapsed"
    with pytest.raises(ValueError, match="collapses"):
        gan_search.recommend(rows, seeds=(1, 2), min_recall=0.6)
