import pytest
import torch
from torch.distributions import Normal, kl_divergence

from labutils.models import VAE, Autoencoder, kl_per_dimension, reconstruction_error, vae_loss


def test_autoencoder_shapes_and_output_range():
    model = Autoencoder()
    x = torch.rand(5, 1, 28, 28)
    assert model.encode(x).shape == (5, 32)
    x_hat = model(x)
    assert x_hat.shape == (5, 784)
    assert x_hat.min() >= 0 and x_hat.max() <= 1


def test_autoencoder_layers_follow_the_report():
    widths = [(m.in_features, m.out_features) for m in Autoencoder().modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [(784, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 784)]


def test_sizes_are_configurable():
    model = VAE(input_dim=784, hidden_dims=(256, 128, 64), latent_dim=2)
    mu, logvar = model.encode(torch.rand(3, 784))
    assert mu.shape == logvar.shape == (3, 2)
    assert model(torch.rand(3, 784))[0].shape == (3, 784)
    assert model.decode(torch.randn(4, 2)).shape == (4, 784)


def test_vae_encoder_outputs_mean_and_logvar_of_latent_size():
    widths = [(m.in_features, m.out_features) for m in VAE().encoder if isinstance(m, torch.nn.Linear)]
    assert widths == [(784, 128), (128, 64), (64, 64)]


def test_reparameterization_moments():
    torch.manual_seed(0)
    mu = torch.full((200_000, 1), 2.0)
    logvar = torch.full((200_000, 1), 2 * torch.log(torch.tensor(3.0)))  # sigma = 3
    z = VAE.reparameterize(mu, logvar)
    assert z.mean().item() == pytest.approx(2.0, abs=0.03)
    assert z.std().item() == pytest.approx(3.0, abs=0.03)


def test_kl_matches_torch_distributions():
    torch.manual_seed(0)
    mu, logvar = torch.randn(6, 4), torch.randn(6, 4)
    expected = kl_divergence(Normal(mu, torch.exp(0.5 * logvar)), Normal(0.0, 1.0))
    torch.testing.assert_close(kl_per_dimension(mu, logvar), expected)


def test_vae_loss_against_a_hand_computation():
    x = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    x_hat = torch.tensor([[0.5, 0.5], [1.0, 0.0]])
    mu = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    logvar = torch.zeros(2, 2)
    # Per image, summed over pixels: (0.25 + 0.25) and (0 + 1); batch mean 0.75.
    # KL per image: 0.5 * (mu^2 + 1 - 1 - 0) summed: 0.5 and 0; batch mean 0.25.
    loss, recon, kl = vae_loss(x_hat, x, mu, logvar, beta=2.0)
    assert recon.item() == pytest.approx(0.75)
    assert kl.item() == pytest.approx(0.25)
    assert loss.item() == pytest.approx(0.75 + 2.0 * 0.25)
    # Averaged over the 2 pixels instead: (0.25 + 0.5) / 2.
    _, recon_mean, _ = vae_loss(x_hat, x, mu, logvar, reduction="mean")
    assert recon_mean.item() == pytest.approx(0.375)


def test_bce_reconstruction_by_hand():
    x = torch.tensor([[1.0, 0.0]])
    x_hat = torch.tensor([[0.8, 0.4]])
    expected = -(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.6)))
    assert reconstruction_error(x_hat, x, loss="bce").item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_reconstruction_loss_is_refused():
    with pytest.raises(ValueError, match="mse"):
        reconstruction_error(torch.zeros(1, 2), torch.zeros(1, 2), loss="l1")
