"""Notebook 03's measurements of one AE and one VAE, image by image, so that every comparison between
them can carry an interval (`labutils.metrics.uncertainty`): the same test images, measured the same
way, for the pair trained with each seed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from torch import nn

from labutils.metrics.classifier_scores import classify
from labutils.metrics.latent import encode_dataset, knn_predictions, linear_probe_predictions, silhouette_values
from labutils.metrics.prior_match import aggregate_posterior, gaussian_fit_draws
from labutils.models.autoencoder import kl_per_dimension


@dataclass
class PairMeasurements:
    """An AE and a VAE of one training seed, measured on the test images (row i is test image i)."""

    seed: int
    ae_error: np.ndarray          # (N,) squared error per pixel, AE (its training loss)
    vae_error: np.ndarray         # (N,) the same, the VAE decoding its posterior mean
    vae_sample_error: np.ndarray  # (N,) the same, the VAE decoding one z ~ q(z|x): its loss's reconstruction term / D
    vae_kl: np.ndarray            # (N,) KL(q(z|x) || N(0, I)) in nats: its loss's other term
    knn_correct: dict             # "ae" / "vae" -> (N,) 1.0 where kNN on the codes names the digit
    probe_correct: dict           # the same for the linear probe
    silhouette: dict              # "ae" / "vae" -> (n,) each sampled point's silhouette
    generated_features: dict      # "vae_prior" / "ae_prior" / "ae_fitted" / "test" -> (N, F) classifier features
    latent_samples: dict          # "vae": (N, D) one z ~ q(z|x) per test image; "ae": (N, D) the AE's codes
    test_kl: Sequence[float]       # per epoch, the VAE's test KL
    aggregate: dict               # prior_match.aggregate_posterior of the test images (the MMD description)


@torch.no_grad()
def _errors(model: nn.Module, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple:
    """Per image: the squared error per pixel of decoding the code (a VAE: its mean) and, for a VAE, of
    decoding one draw z ~ q(z|x), that draw (N, D) and the KL."""
    code = model.encode(x)
    if not isinstance(code, tuple):
        return (model.decode(code) - x).pow(2).mean(1), None, None, None
    mu, logvar = code
    z = mu + torch.randn(mu.shape, device=mu.device, generator=generator) * (0.5 * logvar).exp()
    return ((model.decode(mu) - x).pow(2).mean(1), (model.decode(z) - x).pow(2).mean(1), z,
            kl_per_dimension(mu, logvar).sum(1))


@torch.no_grad()
def measure_pair(ae_run, vae_run, train_x: torch.Tensor, train_y, test_x: torch.Tensor, test_y,
                 classifier: nn.Module, train_loader, test_loader, k: int = 5, silhouette_samples: int = 5000,
                 seed: int = 0) -> PairMeasurements:
    """Everything the verdicts of notebook 03 compare, for one seed's `TrainedModel`s of the AE and VAE.

    `seed` fixes the evaluation's own randomness (z draws, the silhouette subset), the same for every pair.
    The AE is sampled two ways, with the same draws eps ~ N(0, I) as the VAE: z = eps (the VAE's prior,
    which the AE never trained toward) and z from a Gaussian fitted to its training codes (Ghosh et al. 2020).
    """
    ae, vae = ae_run.model.eval(), vae_run.model.eval()
    g = torch.Generator(device=test_x.device).manual_seed(seed)
    ae_error, _, _, _ = _errors(ae, test_x)
    vae_error, vae_sample_error, z, kl = _errors(vae, test_x, g)
    codes = {name: (encode_dataset(m, train_loader)[0], encode_dataset(m, test_loader)[0])
             for name, m in (("ae", ae), ("vae", vae))}
    y = np.asarray(test_y)
    mu_test, logvar_test = vae.encode(test_x)
    eps = torch.randn(mu_test.shape, device=test_x.device, generator=g)   # the same draws for every sampler
    ae_fitted = gaussian_fit_draws(codes["ae"][0].to(eps.device), eps)
    return PairMeasurements(
        seed=ae_run.config.seed,
        ae_error=ae_error.cpu().numpy(), vae_error=vae_error.cpu().numpy(),
        vae_sample_error=vae_sample_error.cpu().numpy(), vae_kl=kl.cpu().numpy(),
        knn_correct={n: (knn_predictions(tr, train_y, te, k) == y).astype(float) for n, (tr, te) in codes.items()},
        probe_correct={n: (linear_probe_predictions(tr, train_y, te) == y).astype(float)
                       for n, (tr, te) in codes.items()},
        silhouette={n: silhouette_values(te, test_y, silhouette_samples, seed) for n, (_, te) in codes.items()},
        generated_features={"vae_prior": classify(classifier, vae.decode(eps))[1].cpu().numpy(),
                            "ae_prior": classify(classifier, ae.decode(eps))[1].cpu().numpy(),
                            "ae_fitted": classify(classifier, ae.decode(ae_fitted))[1].cpu().numpy(),
                            "test": classify(classifier, test_x)[1].cpu().numpy()},
        latent_samples={"vae": z.cpu().numpy(), "ae": codes["ae"][1].numpy()},
        test_kl=list(vae_run.history["test_kl"]),
        aggregate=aggregate_posterior(mu_test.cpu(), logvar_test.cpu(), seed=seed))
