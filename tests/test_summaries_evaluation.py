"""Notebook 03's tables and readings: each shows the numbers it is given, as the notebook formats them,
and each decision flips when its inputs do."""
import pytest

from labutils.summaries import evaluation
from labutils.summaries.evaluation import AE_FITTED, AE_PRIOR, FLOOR, REFERENCE, VAE_PRIOR

AE_BETTER = {"ae": 0.0125, "vae_posterior_mean": 0.025, "vae_posterior_sample": 0.0375}
VAE_BETTER = {"ae": 0.03, "vae_posterior_mean": 0.02, "vae_posterior_sample": 0.04}


def _structure(ae=0.90, vae=0.95, pixels=0.97, pca=0.98, silhouettes=(0.05, 0.08, 0.06, 0.10)):
    return {"knn_accuracy": {"pixels": pixels, "pca": pca, "ae": ae, "vae": vae},
            "linear_probe_accuracy": {"pixels": 0.92, "pca": 0.91, "ae": 0.93, "vae": 0.89},
            "silhouette": dict(zip(("pixels", "pca", "ae", "vae"), silhouettes))}


def _generation(ae_prior=300.0, vae_prior=100.0, ae_fitted=150.0):
    def scores(fd, confidence):
        return {"confidence": confidence, "class_entropy": 0.5, "class_balance_entropy": 2.2, "frechet_distance": fd}
    return {REFERENCE: scores(0.0, 0.97), FLOOR: scores(2.5, 0.96), VAE_PRIOR: scores(vae_prior, 0.81),
            AE_PRIOR: scores(ae_prior, 0.62), AE_FITTED: scores(ae_fitted, 0.7)}


def _kl_story(spike=20.0, low=4.0, early_epochs=2):
    return {"first_batch": 0.3, "spike": spike, "spike_iteration": 12, "low": low, "low_iteration": 40,
            "end_of_epoch_1": 9.5, "early_epochs": early_epochs, "rise_share_early": 0.75}


def _kl_trend(tail_relative_change=0.004, tail_epochs=2):
    return {"first": 10.0, "peak": 25.0, "peak_epoch": 9, "last": 24.0, "tail_epochs": tail_epochs,
            "tail_slope": 0.048, "tail_relative_change": tail_relative_change}


def test_reconstruction_names_the_better_model_and_its_numbers():
    text = evaluation.reconstruction(AE_BETTER, n_test=512).data
    assert text.startswith("**The AE reconstructs better.**")
    assert "On the 512 test images" in text and "0.01250" in text and "0.02500" in text
    assert "2.00× smaller (50% lower)" in text and "0.03750, 3.00× the AE's" in text
    assert evaluation.reconstruction(VAE_BETTER, n_test=512).data.startswith("**The VAE reconstructs better.**")
    assert "1.50× smaller (33% lower)" in evaluation.reconstruction(VAE_BETTER, 512).data


def test_reconstruction_table_scales_per_image_and_relative_to_the_ae():
    table = evaluation.reconstruction_table(AE_BETTER, input_dim=784)
    assert table.loc["vae_posterior_mean", "squared error per image"] == pytest.approx(19.6)
    assert list(table["relative to the AE"]) == [1.0, 2.0, 3.0]


def test_kl_reading_tells_the_dip_only_when_the_kl_falls_back():
    dipping = evaluation.kl(_kl_story(), [10.0, 24.0], _kl_trend(), [1.234, 0.0123, 2.5], 2, 32).data
    assert "from 0.3 nats (first batch) to 20.0 at iteration 12, falls back to 4.0 by iteration 40," in dipping
    assert "A likely reading of the dip" in dipping
    assert "2 of 3 dimensions are active" in dipping and "carries 2.50 nats, the least 0.012" in dipping
    assert "with 2 numbers, the AE with 32" in dipping
    assert "from 10.00 (epoch 1) to 24.00 (epoch 2), highest at epoch 9 (25.00); 75% of" in dipping
    assert "+0.048 nats per epoch, +0.4% of its final value" in dipping
    steady = evaluation.kl(_kl_story(low=15.0), [10.0, 24.0], _kl_trend(), [1.0], 1, 32).data
    assert "falls back" not in steady and "A likely reading" not in steady
    assert not evaluation.kl_dips_in_first_epoch(_kl_story(low=15.0))
    assert evaluation.kl_dips_in_first_epoch(_kl_story(low=9.0))


def test_kl_reading_of_a_one_epoch_run_says_there_is_nothing_to_read():
    text = evaluation.kl(_kl_story(), [8.87], _kl_trend(), [1.0], 1, 32).data
    assert "there is nothing to read: this run has one epoch (test KL 8.87)" in text


def test_likelihood_reads_the_largest_k_and_the_gap_to_the_elbo():
    by_k = {1: -549.02, 10: -541.81}
    table = evaluation.likelihood_table(-550.61, -549.09, by_k, n_iwae=200)
    assert list(table.index) == ["ELBO (all test images)", "ELBO (first 200)", "IWAE bound on log p(x), k = 1",
                                 "IWAE bound on log p(x), k = 10"]
    text = evaluation.likelihood(-550.61, -549.09, by_k, n_iwae=200, n_test=512, final_test_loss=101.3,
                                 constant=448.7).data
    assert "importance-weighted estimate **log p(x) ≈ -541.8 nats per image** with k = 10" in text
    assert "at least 7.3 nats" in text and "On all 512 test images the ELBO is -550.6 nats" in text
    assert "−ELBO = 550.6 nats is approximately the VAE loss plus the constant: 101.3 at the last epoch + 448.7 = 550.0" in text
    beta4 = evaluation.likelihood(-550.61, -549.09, by_k, n_iwae=200, n_test=512, final_test_loss=131.3,
                                  constant=448.7, beta=4.0).data
    assert "not the VAE loss (131.3 at the last epoch) plus it, as the loss weighs the KL by β = 4" in beta4


def test_structure_reading_names_the_leader_the_baseline_wins_and_the_clusters():
    text = evaluation.structure(_structure()).data
    assert "- **kNN accuracy**: VAE 0.9500 vs AE 0.9000, the VAE is ahead by 0.0500; best of all four: pca (0.9800)" in text
    assert "- **linear-probe accuracy**: VAE 0.8900 vs AE 0.9300, the AE is ahead by 0.0400" in text
    assert "matches or beats both learned codes on: kNN accuracy." in text
    assert "The best silhouette is 0.100: below 0.25" in text
    tied = evaluation.structure(_structure(ae=0.99, vae=0.99, silhouettes=(0.1, 0.2, 0.3, 0.4))).data
    assert "VAE 0.9900 vs AE 0.9900, a tie;" in tied and "codes on: no measure." in tied
    assert "The best silhouette is 0.400: clusters are visible in Euclidean distance." in tied


def test_baseline_wins_and_vae_ahead_flip_with_the_scores():
    assert evaluation.baseline_wins(_structure()) == ["knn_accuracy"]
    assert evaluation.baseline_wins(_structure(ae=0.99, silhouettes=(0.05, 0.08, 0.09, 0.10))) == []
    assert evaluation.vae_ahead(_structure()) == {"knn_accuracy": True, "linear_probe_accuracy": False,
                                                  "silhouette": True}
    assert evaluation.vae_ahead(_structure(ae=0.96))["knn_accuracy"] is False


def test_structure_table_names_k_in_its_column():
    table = evaluation.structure_table(_structure(), k=7)
    assert list(table.columns) == ["kNN accuracy (k=7)", "linear-probe accuracy", "silhouette"]
    assert table.loc["pca", "kNN accuracy (k=7)"] == 0.98


def test_generation_reading_compares_to_the_vae_and_the_floor():
    text = evaluation.generation(_generation(), classifier_accuracy=0.9803).data
    assert "(real training images: 2.50): VAE samples **100.00**" in text
    assert "N(0, I) codes **300.00** (3.0× the VAE's)" in text and "**150.00** (1.5× the VAE's)" in text
    assert "(test accuracy 98.03%) is on average 81% sure" in text and "62% of an AE sample's" in text
    assert "97% of a real test digit's" in text
    assert evaluation.generation_table(_generation()).loc[AE_PRIOR, "frechet_distance"] == 300.0


def test_knn_by_k_shows_who_leads_at_each_k():
    table = evaluation.knn_by_k({1: {"ae": 0.91, "vae": 0.9}, 5: {"ae": 0.93, "vae": 0.95}, 25: {"ae": 0.9, "vae": 0.9}})
    assert list(table.index) == [1, 5, 25]
    assert list(table["ahead"]) == ["AE", "VAE", "tie"]
    assert table.loc[5, "vae"] == 0.95
    assert "ahead" not in evaluation.knn_by_k({1: {"pixels": 0.97}}).columns
