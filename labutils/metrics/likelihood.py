"""How well a model explains images: reconstruction error, the ELBO, and the importance-weighted
estimate of log p(x) (Burda et al. 2016). The ELBO and log p(x) are log-densities in nats per image,
the decoder's constant included: negative numbers, higher is better, ELBO <= log p(x). The VAE loss
that `vae_loss` minimises is not among them: with beta = 1 and the summed squared error it is
-ELBO - `gaussian_decoder_constant(D)`."""
from __future__ import annotations

import math
from typing import Iterable

import torch
import torch.nn.functional as F
from torch import nn

from labutils.models.autoencoder import kl_per_dimension


@torch.no_grad()
def reconstruction_mse(model: nn.Module, loader: Iterable, sample: bool = False,
                       generator: torch.Generator | None = None) -> float:
    """Mean squared error per pixel between every image of `loader` and its reconstruction.

    For a VAE the code is the posterior mean mu(x), or with `sample=True` one draw
    z ~ q(z|x) (what the training loss sees); an autoencoder has only its code.
    """
    model.eval()
    total, count = 0.0, 0
    for x, _ in loader:
        x = x.flatten(1)                                       # (B, 784)
        z = model.encode(x)
        if isinstance(z, tuple):                               # VAE: (mu, logvar) -> mu, or a draw from q(z|x)
            mu, logvar = z
            z = mu
            if sample:
                eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
                z = mu + eps * (0.5 * logvar).exp()
        total += float((model.decode(z) - x).pow(2).sum())
        count += x.numel()
    return total / count


def gaussian_decoder_constant(input_dim: int) -> float:
    """-log N(x | x_hat, sigma^2 I) minus the summed squared error, for sigma^2 = 1/2: (D/2) log(pi).

    With sigma^2 = 1/2 the Gaussian's exponent is exactly -sum (x - x_hat)^2, so the VAE's summed
    MSE is this decoder's negative log-likelihood up to the constant (784/2) log(pi) = 448.7 nats
    per MNIST image. Adding it puts the ELBO and log p(x) in nats of a proper density on pixels:
    ELBO = -(summed squared error + KL + this constant).
    """
    return 0.5 * input_dim * math.log(math.pi)


def _log_likelihood_decoder(x_hat: torch.Tensor, x: torch.Tensor, reconstruction_loss: str) -> torch.Tensor:
    """log p(x | z) per image, (B,): Gaussian with sigma^2 = 1/2 for "mse", Bernoulli for "bce"."""
    if reconstruction_loss == "mse":
        return -(x_hat - x).pow(2).sum(-1) - gaussian_decoder_constant(x.shape[-1])
    if reconstruction_loss == "bce":
        # Bernoulli log-likelihood: a density only for binary x; on grey pixels a score, not log p(x).
        return -F.binary_cross_entropy(x_hat, x.expand_as(x_hat), reduction="none").sum(-1)
    raise ValueError(f"Unknown reconstruction loss {reconstruction_loss!r}: use 'mse' or 'bce'.")


@torch.no_grad()
def elbo(vae: nn.Module, x: torch.Tensor, reconstruction_loss: str = "mse",
         generator: torch.Generator | None = None) -> torch.Tensor:
    """The ELBO per image in nats, (N,): E_q[log p(x|z)] (one sample) - KL (exact), <= log p(x).

    A log-density, the decoder's constant included: negative numbers, higher is better. Always with
    beta = 1, whatever beta the model was trained with: this is the bound on log p(x), and for "mse"
    -ELBO = summed squared error + KL + `gaussian_decoder_constant(D)` (the VAE loss plus that
    constant only when beta = 1).
    """
    x = x.flatten(1)
    mu, logvar = vae.encode(x)
    z = mu + torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator) * (0.5 * logvar).exp()
    return _log_likelihood_decoder(vae.decode(z), x, reconstruction_loss) - kl_per_dimension(mu, logvar).sum(1)


@torch.no_grad()
def importance_log_weights(vae: nn.Module, x: torch.Tensor, k: int, reconstruction_loss: str = "mse",
                           generator: torch.Generator | None = None, max_rows: int = 20_000) -> torch.Tensor:
    """log w_i = log p(x|z_i) + log p(z_i) - log q(z_i|x) for k draws z_i ~ q(z|x): (k, N), on the CPU.

    `vae` needs `encode(x) -> (mu, logvar)` and `decode(z) -> x_hat`; images are decoded in
    chunks of about `max_rows` so that k = 5000 fits in memory.
    """
    x = x.flatten(1)                                           # (N, D)
    per_chunk = max(1, max_rows // k)
    out = []
    for start in range(0, len(x), per_chunk):
        xb = x[start:start + per_chunk]                        # (B, D)
        mu, logvar = vae.encode(xb)                            # (B, L) each
        std = (0.5 * logvar).exp()
        eps = torch.randn((k, *mu.shape), device=mu.device, dtype=mu.dtype, generator=generator)
        z = mu + std * eps                                     # (k, B, L)
        log_q = (-0.5 * eps.pow(2) - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)   # (k, B)
        log_prior = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)            # (k, B)
        x_hat = vae.decode(z.reshape(-1, z.shape[-1])).reshape(k, len(xb), -1)          # (k, B, D)
        out.append((_log_likelihood_decoder(x_hat, xb, reconstruction_loss) + log_prior - log_q).double().cpu())
    return torch.cat(out, dim=1)


def iwae_bound(log_weights: torch.Tensor) -> torch.Tensor:
    """The importance-weighted bound log (1/k) sum_i w_i per image, (N,), from (k, N) log-weights.

    With k = 1 it is the ELBO (in expectation); it rises with k towards log p(x) (Burda et al., 2016),
    so at large k it estimates log p(x) itself, in nats per image.
    """
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def iwae_log_likelihood(vae: nn.Module, x: torch.Tensor, k: int, reconstruction_loss: str = "mse",
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) in nats per image, (N,), with k samples
    from q(z|x) as the proposal (Burda, Grosse & Salakhutdinov, 2016, "Importance Weighted
    Autoencoders"). A lower bound in expectation, tight as k -> infinity."""
    with torch.no_grad():
        return iwae_bound(importance_log_weights(vae, x, k, reconstruction_loss, generator))
