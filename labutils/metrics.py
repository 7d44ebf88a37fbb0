"""Measurements of trained models, and the metrics files that record them."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn

from labutils.runtime import outputs_dir

ACTIVE_UNIT_THRESHOLD = 0.01


@torch.no_grad()
def encode_dataset(model: nn.Module, loader: Iterable) -> tuple[torch.Tensor, torch.Tensor]:
    """Latent codes of every batch, on the CPU: `(z, labels)`, z (N, latent_dim).

    For a VAE the code is the posterior mean, its deterministic summary of an image.
    """
    model.eval()
    codes, labels = [], []
    for x, y in loader:
        z = model.encode(x)
        codes.append((z[0] if isinstance(z, tuple) else z).cpu())
        labels.append(y.cpu())
    return torch.cat(codes), torch.cat(labels)


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> tuple[int, torch.Tensor]:
    """Latent dimensions whose posterior mean varies with the input (Burda et al., 2016).

    A unit u is active when Cov_x(E_q[z_u | x]) > threshold; an inactive one carries no
    information about x (its posterior equals the prior). Returns (count, per-unit variance).
    """
    variance = mu.var(dim=0)
    return int((variance > threshold).sum()), variance


def save_metrics(notebook: str, metrics: dict[str, Any], *, profile: str, device: str,
                 data_source: str) -> Path:
    """Write `outputs/metrics/<notebook>.json`: the metrics with the run's context."""
    record = {
        "notebook": notebook,
        "profile": profile,
        "device": device,
        "data_source": data_source,
        "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **metrics,
    }
    path = outputs_dir("metrics") / f"{notebook}.json"
    path.write_text(json.dumps(record, indent=2))
    return path


# --- Evaluation (notebook 03): reconstruction, likelihood, structure of a representation, samples ---
import math

import numpy as np
import torch.nn.functional as F


def _numpy(x) -> np.ndarray:
    """A tensor or array as a float32 NumPy array (N, D), on the CPU; labels keep their dtype."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x)
    return x.astype(np.float32) if np.issubdtype(x.dtype, np.floating) else x


def ordered_loaders(mnist, config, device, batch_size: int = 1000):
    """Unshuffled train and test loaders over exactly the images a model of `config` saw.

    The subsets of `training.runs.mnist_subset` (first `train_size` / `test_size` images),
    but in a fixed order, so codes, pixels and labels of different models line up row by row.
    """
    from labutils.data.loaders import TensorLoader, to_unit_interval
    from labutils.training.runs import mnist_subset

    return tuple(TensorLoader(*mnist_subset(mnist, config, split), batch_size=batch_size,
                              transform=to_unit_interval, device=device) for split in ("train", "test"))


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
    per MNIST image. Adding it puts ELBO and log-likelihood in nats of a proper density on pixels.
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
    """The evidence lower bound per image in nats, (N,): E_q[log p(x|z)] (one sample) - KL (exact).

    Always with beta = 1, whatever beta the model was trained with: this is the bound on log p(x).
    """
    from labutils.models.autoencoder import kl_per_dimension

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

    With k = 1 it is the ELBO (in expectation); it rises with k towards log p(x) (Burda et al., 2016).
    """
    return torch.logsumexp(log_weights, dim=0) - math.log(log_weights.shape[0])


def iwae_log_likelihood(vae: nn.Module, x: torch.Tensor, k: int, reconstruction_loss: str = "mse",
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) in nats per image, (N,), with k samples
    from q(z|x) as the proposal (Burda, Grosse & Salakhutdinov, 2016, "Importance Weighted
    Autoencoders"). A lower bound in expectation, tight as k -> infinity."""
    with torch.no_grad():
        return iwae_bound(importance_log_weights(vae, x, k, reconstruction_loss, generator))


def knn_accuracy(train_x, train_y, test_x, test_y, k: int = 5) -> float:
    """Test accuracy of a k-nearest-neighbour classifier (Euclidean) on the representation as it is."""
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=k, algorithm="brute", n_jobs=-1)
    return float(knn.fit(_numpy(train_x), _numpy(train_y)).score(_numpy(test_x), _numpy(test_y)))


def linear_probe_accuracy(train_x, train_y, test_x, test_y, max_iter: int = 100, C: float = 1.0) -> float:
    """Test accuracy of multinomial logistic regression on standardised features: how much of the
    label a *linear* read-out of the representation finds.

    `max_iter=100` L-BFGS steps: on MNIST pixels (the slowest case, 60000 x 784) the accuracy moves
    by less than 0.3 points between 50 and 500 steps, while the time grows several-fold.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from threadpoolctl import threadpool_limits

    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    # float64: sklearn's solver is several times slower on float32. One thread: each step is too small to
    # gain from more, and on a machine with a busy core two threads wait on each other (40 s instead of 0.5 s).
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore", ConvergenceWarning)  # a few steps short of convergence measures the same
        probe.fit(_numpy(train_x).astype(np.float64), _numpy(train_y))
        return float(probe.score(_numpy(test_x).astype(np.float64), _numpy(test_y)))


def silhouette(x, y, sample_size: int | None = 5000, seed: int = 0) -> float:
    """Mean silhouette coefficient of the digit classes (Euclidean), on a seeded subset of `sample_size`.

    Near 1: tight classes far apart; near 0: overlapping classes; negative: points closer to another class.
    """
    from sklearn.metrics import silhouette_score

    x, y = _numpy(x), _numpy(y)
    sample_size = None if sample_size is None or sample_size >= len(x) else sample_size
    return float(silhouette_score(x, y, sample_size=sample_size, random_state=seed))


def structure_table(representations: dict[str, tuple[Any, Any]], train_y, test_y, k: int = 5,
                    silhouette_samples: int = 5000, seed: int = 0) -> dict[str, dict[str, float]]:
    """kNN accuracy, linear-probe accuracy and silhouette for each `name: (train_x, test_x)`.

    Returns {"knn_accuracy": {name: ...}, "linear_probe_accuracy": {...}, "silhouette": {...}}; the
    silhouette is computed on the test representations.
    """
    table: dict[str, dict[str, float]] = {"knn_accuracy": {}, "linear_probe_accuracy": {}, "silhouette": {}}
    for name, (train_x, test_x) in representations.items():
        table["knn_accuracy"][name] = knn_accuracy(train_x, train_y, test_x, test_y, k)
        table["linear_probe_accuracy"][name] = linear_probe_accuracy(train_x, train_y, test_x, test_y)
        table["silhouette"][name] = silhouette(test_x, test_y, silhouette_samples, seed)
    return table


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors, a (N, D) and b (M, D).

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)  (Dowson & Landau, 1982; the FID of
    Heusel et al., 2017, in another network's features). The trace term is computed from the
    eigenvalues of the symmetric matrix S_a^1/2 S_b S_a^1/2 rather than with `scipy.linalg.sqrtm`
    of the non-symmetric S_a S_b: the same number, without complex round-off or a failed square root
    when a covariance is singular. Returned as d^2, the quantity FID reports.
    """
    a, b = _numpy(a).astype(np.float64), _numpy(b).astype(np.float64)
    return frechet_distance_from_moments(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def frechet_distance_from_moments(mu_a, cov_a, mu_b, cov_b) -> float:
    """`frechet_distance` from means (D,) and covariances (D, D)."""
    from scipy.linalg import eigh, eigvalsh

    mu_a, mu_b = np.atleast_1d(mu_a), np.atleast_1d(mu_b)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    values, vectors = eigh(cov_a)
    sqrt_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T       # S_a^1/2, symmetric
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sqrt(np.clip(eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


@torch.no_grad()
def classify(classifier: nn.Module, images: torch.Tensor, batch_size: int = 1000) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities (N, 10) and penultimate features (N, D) of images in [0, 1], on the CPU."""
    classifier.eval()
    device = next(classifier.parameters()).device
    probs, feats = [], []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device).float()
        f = classifier.features(x)
        probs.append(torch.softmax(classifier.head(f), dim=1).cpu())
        feats.append(f.cpu())
    return torch.cat(probs), torch.cat(feats)


def class_confidence(probs: torch.Tensor) -> float:
    """Mean of the classifier's top probability: 1 when every image is clearly some digit, 0.1 at chance."""
    return float(torch.as_tensor(probs).max(dim=1).values.mean())


def class_entropy(probs: torch.Tensor) -> float:
    """Mean entropy of the class probabilities per image, in nats: 0 when sure, log(10) = 2.30 when lost."""
    p = torch.as_tensor(probs).double()
    return float(-(p * p.clamp_min(1e-12).log()).sum(1).mean())


def class_balance_entropy(probs: torch.Tensor) -> float:
    """Entropy of the average class distribution, in nats: log(10) = 2.30 when all digits appear
    equally often, 0 when the samples are all one digit (the diversity half of the Inception score)."""
    p = torch.as_tensor(probs).double().mean(0)
    return float(-(p * p.clamp_min(1e-12).log()).sum())


def trend(values, tail_fraction: float = 0.2) -> dict[str, float]:
    """How a per-epoch series moves: first, peak (and its epoch), last; and over the last
    `tail_fraction` of the epochs (at least two) the least-squares slope per epoch and the change it
    amounts to over that tail, relative to the last value (robust to epoch-to-epoch noise)."""
    values = [float(v) for v in values]
    tail = values[-max(2, math.ceil(tail_fraction * len(values))):] if len(values) > 1 else values
    peak = int(np.argmax(values))
    slope = float(np.polyfit(np.arange(len(tail)), tail, 1)[0]) if len(tail) > 1 else 0.0
    return {"first": values[0], "peak": values[peak], "peak_epoch": peak + 1, "last": values[-1],
            "tail_epochs": len(tail), "tail_slope": slope,
            "tail_relative_change": slope * (len(tail) - 1) / abs(values[-1])}
