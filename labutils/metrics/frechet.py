"""The Fréchet distance between two sets of feature vectors: the one home of the formula that FID,
and the lab's distance in its digit classifier's features, both use."""
from __future__ import annotations

import torch


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to two sets of feature vectors, a (N, D) and b (M, D).

    d^2 = |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)  (Dowson & Landau, 1982; the FID of
    Heusel et al., 2017, in another network's features). The trace term is computed from the
    eigenvalues of the symmetric matrix S_a^1/2 S_b S_a^1/2 rather than with `scipy.linalg.sqrtm`
    of the non-symmetric S_a S_b: the same number, without complex round-off or a failed square root
    when a covariance is singular. Returned as d^2, the quantity FID reports. In float64, with torch's
    linear algebra: notebook 03's bootstrap computes hundreds of these beside torch's own threads,
    which NumPy's OpenBLAS threads contend with (a 128-d distance took 4 times as long there).
    """
    a, b = (torch.as_tensor(v).detach().cpu().double() for v in (a, b))  # (N, D), (M, D)
    return frechet_distance_from_moments(a.mean(0), torch.cov(a.T), b.mean(0), torch.cov(b.T))


def frechet_distance_from_moments(mu_a, cov_a, mu_b, cov_b) -> float:
    """`frechet_distance` from means (D,) and covariances (D, D), arrays or tensors."""
    mu_a, mu_b = (torch.atleast_1d(torch.as_tensor(v, dtype=torch.float64)) for v in (mu_a, mu_b))
    cov_a, cov_b = (torch.atleast_2d(torch.as_tensor(v, dtype=torch.float64)) for v in (cov_a, cov_b))
    values, vectors = torch.linalg.eigh(cov_a)
    sqrt_a = (vectors * values.clamp(min=0).sqrt()) @ vectors.T       # S_a^1/2, symmetric
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float((mu_a - mu_b).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt)
