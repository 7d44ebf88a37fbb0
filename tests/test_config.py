import pytest

from labutils.config import AEConfig, VAEConfig
from labutils.profiles import parameters


@pytest.mark.parametrize("kwargs, message", [
    ({"num_epochs": 0}, "num_epochs must be >= 1"),
    ({"latent_dim": 0}, "latent_dim must be >= 1"),
    ({"lr": -1.0}, "lr must be > 0"),
    ({"device": "tpu"}, "device"),
    ({"train_size": 0}, "train_size"),
])
def test_invalid_values_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        AEConfig(**kwargs)


def test_vae_specific_values_are_checked():
    with pytest.raises(ValueError, match="reconstruction_loss"):
        VAEConfig(reconstruction_loss="l1")
    with pytest.raises(ValueError, match="beta"):
        VAEConfig(beta=-1)


def test_run_id_follows_hyperparameters_not_the_device():
    assert AEConfig().run_id() != AEConfig(latent_dim=16).run_id()
    assert AEConfig().run_id() == AEConfig(device="cpu").run_id()
    assert AEConfig().run_id() != VAEConfig().run_id()
    assert AEConfig(hidden_dims=[128, 64]).run_id() == AEConfig().run_id()  # lists from papermill


def test_an_option_added_later_keeps_older_run_ids_while_off():
    from labutils.config import GANConfig

    assert "r1_gamma" not in GANConfig().identity()  # the checkpoints saved before it existed still match
    assert GANConfig(r1_gamma=1.0).identity()["r1_gamma"] == 1.0
    assert GANConfig(r1_gamma=1.0).run_id() != GANConfig().run_id()


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError, match="quick"):
        parameters("fast", "01_autoencoder")
