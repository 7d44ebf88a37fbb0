"""The text and tables of notebooks 01, 02 and 04: built from the numbers they are given, and their
decisions follow those numbers."""
from pathlib import Path

from labutils.summaries import gan as gan_text
from labutils.summaries import mnist_models as mnist_text

AE = {"test_mse": 0.00678, "train_mse_last_epoch": 0.00650, "epochs": 50, "train_seconds": 41.2,
      "latent_std_min": 0.31, "latent_std_max": 4.27, "latent_mean_abs_max": 2.5}


def test_autoencoder_results_state_the_measured_numbers_and_the_gap():
    text = mnist_text.autoencoder_results(AE, Path("/elsewhere/m.json")).data
    for shown in ("**0.00678**", "after 50 epochs (41 s", "0.00650", "4.3% above it", "from 0.31 to 4.27",
                  "2.50 away", "`/elsewhere/m.json`"):
        assert shown in text
    assert "4.2% below it: the training loss" in mnist_text.autoencoder_results({**AE, "test_mse": 0.00623},
                                                                                Path("m.json")).data


def test_the_error_by_code_size_is_relative_to_the_largest_code():
    table = mnist_text.error_by_latent_size({32: 0.01, 2: 0.04}, {32: 50, 2: 10})
    assert table.loc[2, "relative to latent_dim = 32"] == 4.0 and table.loc[32, "epochs"] == 50


def test_vae_text_reports_both_reductions_of_the_collapse_demo():
    summed, averaged = {"kl": 25.31, "active_units": 9, "mse": 0.0123}, {"kl": 0.0042, "active_units": 0, "mse": 0.0671}
    table = mnist_text.collapse_table(summed, averaged, latent_dim=32).data
    assert "| summed over pixels | 25.31 | 9 of 32 | 0.0123 |" in table
    assert "| mean over pixels | 0.004 | 0 of 32 | 0.0671 |" in table
    metrics = {"test_recon_mse": 0.0123, "test_kl": 25.31, "active_units": 9, "test_loss": 30.5, "test_recon": 5.19,
               "test_elbo_nats": -(5.19 + 25.31 + 448.73), "collapse_demo_epochs": 5,
               "posterior_collapse_demo": {"sum": summed, "mean": averaged}}
    text = mnist_text.vae_results(metrics, beta=1.0, latent_dim=32, path=Path("v.json")).data
    assert "**9** of 32" in text and "**30.50** per image, of which 5.19 reconstruction and 1 × 25.31 KL" in text
    assert "a lower bound on log p(x): **-479.2** nats per image" in text
    assert "−ELBO = reconstruction + KL + 448.7 (the Gaussian decoder's constant): with β = 1 that is the loss + 448.7" in text
    assert "after 5 epochs is 0.004 nats against 25.31, with 0 active units against 9" in text


def test_vae_text_says_when_the_loss_is_not_minus_the_elbo():
    summed, averaged = {"kl": 25.31, "active_units": 9, "mse": 0.0123}, {"kl": 0.0042, "active_units": 0, "mse": 0.0671}
    metrics = {"test_recon_mse": 0.0123, "test_kl": 10.0, "active_units": 9, "test_loss": 45.0, "test_recon": 5.0,
               "test_elbo_nats": -(5.0 + 10.0 + 448.73), "collapse_demo_epochs": 5,
               "posterior_collapse_demo": {"sum": summed, "mean": averaged}}
    text = mnist_text.vae_results(metrics, beta=4.0, latent_dim=32, path=Path("v.json")).data
    assert "**-463.7** nats per image" in text and "with β = 4 that is not the loss + 448.7, as the loss weighs the KL by β" in text
    no_elbo = mnist_text.vae_results({**metrics, "test_elbo_nats": None}, beta=1.0, latent_dim=32,
                                     path=Path("v.json")).data
    assert "- Test ELBO: not measured" in no_elbo


LAST = {"train_d_loss": 1.21, "train_g_loss": 0.93, "train_d_real": 0.61, "train_d_fake": 0.38}
SWD = {"64px": 30.0, "32px": 20.0, "average": 25.0}
FLOOR = {"64px": 10.0, "32px": 10.0, "average": 10.0}


def test_gan_text_shows_losses_tables_and_what_is_unavailable():
    assert "**1.21** and G's **0.93**" in gan_text.last_epoch(LAST).data
    table = gan_text.swd_table(SWD, FLOOR, n=512).data
    assert "| 64px | 30.0 | 10.0 | 3.0 |" in table and "| average | 25.0 | 10.0 | 2.5 |" in table
    assert "**unavailable**: no Inception-v3 weights in `/hub`" in gan_text.frechet(None, "/hub").data
    on_mnist = gan_text.frechet({"distance": 3.21, "floor": 1.05}, "/hub", {"distance": 7.5, "floor": 1.2},
                                [0.1] * 10).data
    assert "**3.21**, floor 1.05" in on_mnist and "**7.50**, floor 1.20" in on_mnist and "9: 10%" in on_mnist


def _variant(swd):
    return {"swd": swd, "swd_floor": 10.0, "swd_levels": {"64px": swd, "average": swd}, "n": 512, "train_seconds": 60,
            "seed": 1, "sample_seed": 1}


def test_the_options_study_table_and_the_results_name_the_best_variant():
    study = {"reports' set-up": _variant(50.0), "+ EMA": _variant(40.0)}
    table = gan_text.options_study(study, epochs=25).data
    assert "| + EMA | 40.0 | -20% | 40 | 60 s |" in table and "Budget: 25 epoch(s)" in table
    assert "trained with seed 1 and measured against the real sample of seed 1" in table
    assert "skipped" in gan_text.options_study({}, 0).data
    metrics = {"config": {"image_size": 64}, "epochs": 100, "train_seconds": 3600, "swd_images": 1024, "swd": 25.0,
               "swd_floor": 10.0, "fid": "unavailable", "fid_floor": "unavailable", "options_study": study,
               "variant_epochs": 25, "recipe_run": None,
               "nearest_neighbour_rms": {"generated_median_rms": 40.0, "real_median_rms": 38.0}}
    text = gan_text.results(metrics, "stand-in", 2872, "cpu", "+ DiffAugment", Path("g.json")).data
    assert "2.5 times the floor" in text and "at every pyramid level: **+ EMA** (40.0)" in text
    study["+ EMA"]["swd_levels"] = {"64px": 40.0, "32px": 60.0, "average": 40.0}  # better on average only
    study["reports' set-up"]["swd_levels"] = {"64px": 50.0, "32px": 50.0, "average": 50.0}
    assert gan_text.lower_everywhere(study) == []
    assert "none is shown to help" in gan_text.results(metrics, "s", 1, "cpu", "+ x", Path("g.json")).data


def test_the_last_epoch_says_when_d_is_winning():
    assert "D is winning" in gan_text.last_epoch({**LAST, "train_d_real": 0.90, "train_d_fake": 0.10}).data
    assert "neither player dominates" in gan_text.last_epoch(LAST).data


def test_the_recipe_run_compares_at_the_same_budget_only_when_it_was_measured_there():
    main = {"epochs": 100, "swd": SWD, "last": LAST, "n_train": 512, "last_swd": 60.0, "recall_ratio": 0.12}
    recipe = {"epochs": 200, "swd": SWD, "last": LAST, "changes": {"ema": True}, "train_seconds": 7000,
              "same_budget": 45.0, "last_swd": 30.0, "recall_ratio": 0.97}
    text = gan_text.recipe_run("the recipe", recipe, main, FLOOR, n=1024).data
    assert "200 epoch(s) with ema=True" in text and "was 60.0 for the reports' set-up and 45.0" in text
    assert "at its last epoch, 200, it was 30.0" in text
    assert "the reports' set-up 0.12, the recipe 0.97" in text
    assert "same budget" not in gan_text.recipe_run("the recipe", {**recipe, "same_budget": None}, main, FLOOR, 1024).data
    # diversity unmeasured (MNIST has no pixel recall here): no line rather than a made-up number
    assert "How diverse" not in gan_text.recipe_run("the recipe", {**recipe, "recall_ratio": None}, main, FLOOR, 1024).data


def test_the_small_data_table_divides_by_the_floor():
    runs = {"DiffAugment off": {"swd": 80.0, "floor": 20.0}, "DiffAugment on": {"swd": 40.0, "floor": 20.0}}
    table = gan_text.small_data_table(runs, train_size=287, updates=1000)
    assert table.loc["DiffAugment off", "times the floor"] == 4.0 and table.loc["DiffAugment on", "times the floor"] == 2.0
    assert "287 training images, 1000 updates" in table.columns[0]


def test_seed_table_gives_each_seed_then_mean_and_spread():
    from labutils.summaries.mnist_models import seed_table

    table = seed_table({0: 0.010, 1: 0.012, 2: 0.011}, "mse", {"kl": {0: 20.0, 1: 22.0, 2: 21.0}})
    assert list(table.index) == [0, 1, 2, "mean", "spread (max − min)"]
    assert table.loc["mean", "mse"] == 0.011 and table.loc["spread (max − min)", "kl"] == 2.0
