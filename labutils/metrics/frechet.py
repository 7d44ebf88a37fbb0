"""The Fréchet distance between two sets of feature vectors: the one home of the formula that FID,
and the lab's distance in its digit classifier's features, both use."""
from __future__ import annotations

import numpy as np
import torch


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors, a (N, D) and b (M, D).

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)  (Dowson & Landau, 1982; the FID of
    Heusel et al., 2017, in another network's features). The trace term is computed from the
    eigenvalues of the symmetric matrix S_a^1/2 S_b S_a^1/2 rather than with `scipy.linalg.sqrtm`
    of the non-symmetric S_a S_b: the same number, without complex round-off or a failed square root
    when a covariance is singular. Returned as d^2, the quantity FID reports.
    """
    a, b = (torch.as_tensor(v).detach().cpu().double().numpy() for v in (a, b))  # (N, D), (M, D)
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
