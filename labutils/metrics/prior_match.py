"""Does a VAE's latent space follow its prior? The aggregate posterior q(z), the average over the
images of q(z|x) = N(mu(x), sigma^2(x)), against N(0, I): report 1 says the KL term "ensures the
latent space approximates a standard normal distribution".

Three measurements: the moments of q(z) per dimension (its mean, and its variance Var(mu) + E[sigma^2],
against 0 and 1); the KL divergence from the Gaussian fitted to q(z) (full covariance) to N(0, I); and
a two-sample test, the maximum mean discrepancy (Gretton et al. 2012) between draws z ~ q(z) and
z ~ N(0, I), with its 95 % threshold from permutations of the two samples.
"""
from __future__ import annotations

import torch

MMD_LEVEL = 0.05  # the permutation test's level: "differs from the prior" when p < 0.05


def aggregate_moments(mu: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance of q(z) per dimension, (D,) each: E[mu] and Var(mu) + E[sigma^2]."""
    return mu.mean(0), mu.var(0, unbiased=False) + logvar.exp().mean(0)


def gaussian_fit_kl(mu: torch.Tensor, logvar: torch.Tensor) -> float:
    """KL(N(m, S) || N(0, I)) in nats, N(m, S) the Gaussian of q(z)'s mean and covariance,
    S = Cov(mu) + diag(E[sigma^2]): 0 only when q(z)'s first two moments are the prior's."""
    mu, logvar = mu.double(), logvar.double()
    m = mu.mean(0)
    covariance = torch.cov(mu.T, correction=0) + torch.diag(logvar.exp().mean(0))
    d = len(m)
    return float(0.5 * (covariance.trace() + m @ m - d - torch.logdet(covariance)))


def mmd_test(x: torch.Tensor, y: torch.Tensor, permutations: int = 200, seed: int = 0) -> dict[str, float]:
    """Squared MMD between samples x and y (n, D) with a Gaussian kernel (bandwidth: the median pairwise
    distance of the pooled sample), its 95 % quantile over `permutations` random relabellings of the
    pooled sample (the distribution of the statistic when x and y come from one distribution) and the
    p-value."""
    pooled = torch.cat([x, y]).double()
    distances = torch.cdist(pooled, pooled).square()                   # (2n, 2n)
    bandwidth = distances[distances > 0].median()
    kernel = torch.exp(-distances / bandwidth)
    n = len(x)

    def statistic(first: torch.Tensor) -> torch.Tensor:                # first: bool (2n,), True for "x"
        a, b = first.double(), (~first).double()
        return (a @ kernel @ a) / n ** 2 + (b @ kernel @ b) / n ** 2 - 2 * (a @ kernel @ b) / n ** 2

    labels = torch.arange(2 * n) < n
    observed = statistic(labels)
    g = torch.Generator().manual_seed(seed)
    null = torch.stack([statistic(labels[torch.randperm(2 * n, generator=g)]) for _ in range(permutations)])
    return {"mmd2": float(observed), "threshold_95": float(null.quantile(0.95)),
            "p_value": float(((null >= observed).sum() + 1) / (permutations + 1)), "n": n,
            "permutations": permutations}


def aggregate_posterior(mu: torch.Tensor, logvar: torch.Tensor, n: int = 2000, permutations: int = 200,
                        seed: int = 0) -> dict:
    """q(z) of the images whose posteriors are (mu, logvar), (N, D) each, against N(0, I): moments,
    the Gaussian fit's KL and the MMD test between n draws from each."""
    g = torch.Generator().manual_seed(seed)
    pick = torch.randperm(len(mu), generator=g)[:n]
    draws = mu[pick] + torch.randn(len(pick), mu.shape[1], generator=g) * (0.5 * logvar[pick]).exp()  # z ~ q(z)
    prior = torch.randn(len(pick), mu.shape[1], generator=g)                                         # z ~ N(0, I)
    mean, variance = aggregate_moments(mu, logvar)
    test = mmd_test(draws, prior, permutations, seed)
    return {"mean": mean.tolist(), "variance": variance.tolist(), "gaussian_fit_kl": gaussian_fit_kl(mu, logvar),
            "mmd": test, "matches_prior": test["p_value"] >= MMD_LEVEL,
            "test": f"MMD two-sample test (Gaussian kernel, median bandwidth), {len(pick)} draws from q(z) against "
                    f"{len(pick)} from N(0, I), {permutations} permutations; differs from the prior when p < {MMD_LEVEL}"}
