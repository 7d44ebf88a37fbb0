"""Fully connected autoencoder and variational autoencoder for 28x28 images.

Defaults follow the lab reports: encoder 784 -> 128 -> 64 -> 32, a mirrored decoder, ReLU inside
and a sigmoid on the output so that x_hat lies in [0, 1] like the pixels. The code between the
marker lines is written and explained in notebooks 01 (the autoencoder) and 02 (the VAE and its
loss); `make export` copies it here, and a test fails if the two differ.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# ---- #@save cells of notebooks/01_autoencoder.ipynb: edit them there, then `make export` ----
def mlp(dims: list[int] | tuple[int, ...], final_activation: nn.Module | None = None) -> nn.Sequential:
    """Linear layers through `dims`, ReLU between them, `final_activation` (if any) at the end."""
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(d_in, d_out))
        if i < len(dims) - 2:
            layers.append(nn.ReLU())
    if final_activation is not None:
        layers.append(final_activation)
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """Deterministic autoencoder: x -> z = encoder(x) -> x_hat = decoder(z)."""

    def __init__(self, input_dim: int = 784, hidden_dims: tuple[int, ...] = (128, 64), latent_dim: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = mlp([input_dim, *hidden_dims, latent_dim])                        # 784 -> 128 -> 64 -> 32
        self.decoder = mlp([latent_dim, *reversed(hidden_dims), input_dim], nn.Sigmoid())  # 32 -> 64 -> 128 -> 784

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x.flatten(1))  # (B, 1, 28, 28) or (B, 784) -> (B, latent_dim)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, latent_dim) -> (B, 784) in [0, 1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
# ---- end of notebooks/01_autoencoder.ipynb ----


# ---- #@save cells of notebooks/02_vae.ipynb: edit them there, then `make export` ----
class VAE(nn.Module):
    """Variational autoencoder (Kingma & Welling, 2014): q(z|x) = N(mu, sigma^2), z = mu + sigma * eps."""

    def __init__(self, input_dim: int = 784, hidden_dims: tuple[int, ...] = (128, 64), latent_dim: int = 32):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = mlp([input_dim, *hidden_dims, 2 * latent_dim])                    # 784 -> 128 -> 64 -> 2*32
        self.decoder = mlp([latent_dim, *reversed(hidden_dims), input_dim], nn.Sigmoid())  # 32 -> 64 -> 128 -> 784

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)  # (B, 784) -> 2 x (B, latent_dim)
        return mu, logvar

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
        return mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)  # the noise is in eps: gradients reach mu, sigma

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, latent_dim) -> (B, 784) in [0, 1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def kl_per_dimension(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) of a diagonal Gaussian, in closed form, per latent dimension, in nats: (B, D)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)


def reconstruction_error(x_hat: torch.Tensor, x: torch.Tensor, loss: str = "mse", reduction: str = "sum") -> torch.Tensor:
    """Per-image reconstruction error, (B,): "sum" over pixels is the scale of the (summed) KL."""
    x, x_hat = x.flatten(1), x_hat.flatten(1)
    if loss == "mse":
        per_pixel = F.mse_loss(x_hat, x, reduction="none")
    elif loss == "bce":
        per_pixel = F.binary_cross_entropy(x_hat, x, reduction="none")
    else:
        raise ValueError(f"Unknown reconstruction loss {loss!r}: use 'mse' or 'bce'.")
    return per_pixel.sum(1) if reduction == "sum" else per_pixel.mean(1)


def vae_loss(x_hat: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor,
             beta: float = 1.0, loss: str = "mse", reduction: str = "sum") -> tuple[torch.Tensor, ...]:
    """The VAE loss per image, averaged over the batch: (loss, reconstruction, kl),
    loss = reconstruction + beta * kl, the KL summed over the latent dimensions. Only with beta = 1
    and the squared error summed over pixels is it -ELBO less a constant: loss = -ELBO - (D/2) log(pi),
    448.7 nats for MNIST (`lab.metrics.gaussian_decoder_constant`)."""
    reconstruction = reconstruction_error(x_hat, x, loss, reduction).mean()
    kl = kl_per_dimension(mu, logvar).sum(1).mean()
    return reconstruction + beta * kl, reconstruction, kl
# ---- end of notebooks/02_vae.ipynb ----
