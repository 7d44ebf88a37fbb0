"""Notebook 03 evaluates the runs that 01 and 02 last recorded on this machine, loaded, where it can, and says
why not where it cannot; its estimate follows the same choice. Tiny models, trained in a temporary LAB_OUTPUTS."""
import dataclasses

import pytest
import torch

from labutils import estimates
from labutils.config import AEConfig, VAEConfig
from labutils.data.mnist import MNIST
from labutils.metrics.records import save_metrics
from labutils.training.runs import evaluated_runs, train_mnist_model

TINY = {"hidden_dims": (8,), "latent_dim": 2, "batch_size": 16, "train_size": 64, "test_size": 16, "device": "cpu"}
SEEDS = 2
VALUES = {"tsne_samples": 16, "classifier_epochs": 1, "iwae_k": 2, "iwae_images": 8, "seeds": SEEDS}


@pytest.fixture
def outputs(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    return tmp_path


def _tiny_mnist():
    g = torch.Generator().manual_seed(0)
    images = (torch.rand(80, 28, 28, generator=g) * 255).to(torch.uint8)
    labels = torch.arange(80) % 10
    return MNIST(images[:64], labels[:64], images[64:], labels[64:], "test tensors")


def _profile_configs():
    """What 03 builds from its profile: 2 epochs; the learner's runs below typed 1 on 01's and 02's pages."""
    return AEConfig(num_epochs=2, **TINY), VAEConfig(num_epochs=2, **TINY)


def _record(notebook, config, profile="quick", seeds=SEEDS, train=True):
    """Train `seeds` seeds of `config` as 01 or 02 does and write its metrics file as they do."""
    runs = [train_mnist_model(dataclasses.replace(config, seed=config.seed + i), _tiny_mnist(), progress=False)
            if train else None for i in range(seeds)]
    names = [r.checkpoint.name for r in runs] if train else [f"{config.family}-0000000{i}.pt" for i in range(seeds)]
    save_metrics(notebook, {"config": config.to_dict(), "parameters": {"num_epochs": config.num_epochs, "seeds": seeds},
                            "checkpoints": names}, profile=profile, device="cpu", data_source="test")
    return runs


def _record_both(profile="quick", ae_changes=None):
    ae, vae = _profile_configs()
    ae_runs = _record("01_autoencoder", dataclasses.replace(ae, num_epochs=1, **(ae_changes or {})), profile)
    vae_runs = _record("02_vae", dataclasses.replace(vae, num_epochs=1), profile)
    return ae_runs, vae_runs


def test_a_recorded_run_whose_checkpoints_are_here_is_loaded_and_costs_nothing(outputs, capsys):
    ae_runs, vae_runs = _record_both()
    chosen = evaluated_runs("quick", *_profile_configs(), SEEDS)
    printed = capsys.readouterr().out
    assert chosen["AE"].recorded and chosen["VAE"].recorded
    assert chosen["AE"].config.num_epochs == chosen["VAE"].config.num_epochs == 1  # the pages' value, not the profile's
    assert "AE: evaluates 01's last run" in printed and "set on its page: num_epochs=1" in printed
    plan = estimates.plan_evaluation(VALUES, chosen["AE"].config, chosen["VAE"].config)
    models = [p for p in plan if p.family != "classifier"]
    assert len(models) == 2 * SEEDS and all(p.loaded and p.seconds(estimates.REFERENCE_COSTS) == 0 for p in models)
    assert {p.checkpoint for p in models} == {r.checkpoint for r in ae_runs + vae_runs}
    run = train_mnist_model(chosen["VAE"].config, _tiny_mnist(), progress=False)  # what 03's cell then calls
    assert run.loaded and run.checkpoint == vae_runs[0].checkpoint  # loaded, nothing trained


def test_the_estimate_names_no_recorded_run_as_to_train(outputs, capsys):
    _record_both()
    chosen = evaluated_runs("quick", *_profile_configs(), SEEDS, verbose=False)
    estimates.show_evaluation("quick", VALUES, chosen["AE"].config, chosen["VAE"].config)
    assert "not found here" not in capsys.readouterr().out
    ae, vae = _profile_configs()  # the profile's configs, which never trained here: the estimate says so
    estimates.show_evaluation("quick", VALUES, ae, vae)
    assert "not found here, so trained first: 01's AE, 2 of its 2" in capsys.readouterr().out


def test_a_record_whose_checkpoint_is_missing_falls_back_to_the_profile_and_says_why(outputs):
    ae_runs, _ = _record_both()
    ae_runs[1].checkpoint.unlink()  # a fresh runtime has none; here one seed's is gone
    chosen = evaluated_runs("quick", *_profile_configs(), SEEDS)
    assert not chosen["AE"].recorded and chosen["AE"].config == _profile_configs()[0]
    assert "the quick profile's config (2 epochs, seeds 0-1)" in chosen["AE"].line
    assert "has 1 of its 2 checkpoints missing here" in chosen["AE"].line
    assert chosen["VAE"].recorded  # the other model's record stands


def test_a_record_of_another_profile_is_not_used(outputs):
    _record_both(profile="smoke")
    chosen = evaluated_runs("quick", *_profile_configs(), SEEDS)
    assert not chosen["AE"].recorded and not chosen["VAE"].recorded
    assert "is the smoke profile's" in chosen["VAE"].line
    assert evaluated_runs("smoke", *_profile_configs(), SEEDS, verbose=False)["VAE"].recorded


def test_no_record_fewer_seeds_and_edited_code_each_fall_back_with_their_reason(outputs):
    ae, vae = _profile_configs()
    assert "01 recorded no run here" in evaluated_runs("quick", ae, vae, SEEDS, verbose=False)["AE"].line
    _record("01_autoencoder", dataclasses.replace(ae, num_epochs=1), seeds=1)
    assert "has 1 seed(s); set seeds = 1" in evaluated_runs("quick", ae, vae, SEEDS, verbose=False)["AE"].line
    assert evaluated_runs("quick", ae, vae, 1, verbose=False)["AE"].recorded
    _record("01_autoencoder", dataclasses.replace(ae, num_epochs=1), train=False)  # names of other code
    chosen = evaluated_runs("quick", ae, vae, SEEDS, verbose=False)["AE"]
    assert not chosen.recorded and "trained by other code than the package's" in chosen.line


def test_the_ae_and_vae_are_compared_at_the_same_layers_and_images(outputs):
    _record_both(ae_changes={"latent_dim": 3})  # 01 ran with another code size than 02's VAE
    chosen = evaluated_runs("quick", *_profile_configs(), SEEDS, verbose=False)
    assert not chosen["AE"].recorded and "latent_dim=3, not the VAE's" in chosen["AE"].line
    assert chosen["VAE"].recorded and chosen["AE"].config.latent_dim == chosen["VAE"].config.latent_dim
