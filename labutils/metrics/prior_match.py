"""Does a latent space follow N(0, I)? The VAE's aggregate posterior q(z), the average over the images of
q(z|x) = N(mu(x), sigma^2(x)), and, as the reference without a KL term, an AE's codes: report 1 says the
KL term "ensuring latent space approximates standard normal distribution".

- `gaussian_fit_kl_per_dimension`: the effect size notebook 03 decides on, the KL divergence from the
  Gaussian fitted to samples of q(z) (mean and full covariance) to N(0, I), in nats per dimension, with
  its small-sample bias removed. It sees q(z)'s first two moments only: for a Gaussian prior,
  KL(q || N(0, I)) = KL(q || its Gaussian fit) + KL(its Gaussian fit || N(0, I)), so it is a lower bound
  on the full KL, the part a mismatch of location, scale and correlation makes.
- `aggregate_moments`, `gaussian_fit_kl`: q(z)'s moments per dimension and the same KL from the encoder's
  (mu, logvar) directly (notebook 02's description).
- `mmd_test`: a two-sample test of q(z) = N(0, I) exactly (Gretton et al. 2012). A description: a test
  of equality rejects any imperfect match once the sample is large, so it cannot say "approximates".
- `gaussian_fit_draws`: codes drawn from a Gaussian fitted to an AE's codes, its generator "by ex-post
  density estimation" (Ghosh et al. 2020).
"""
from __future__ import annotations

import numpy as np
import torch
from scipy.special import digamma

MMD_LEVEL = 0.05         # the permutation test's one rule: it tells q(z) from N(0, I) when p < 0.05
MMD_PERMUTATIONS = 2000  # p resolved to about ±0.005 near 0.05; the kernel matrix is computed once


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


def gaussian_fit_kl_per_dimension(z) -> float:
    """KL(N(m, S) || N(0, I)) / D in nats, N(m, S) the Gaussian fitted to samples z (n, D), n > D + 1.

    The plug-in value is biased upwards by about (D + 1) / (4n) per dimension (a sample covariance's log
    determinant is biased down): 0.03 instead of 0.005 with 100 draws in 8 dimensions, which would make
    the verdict depend on n. Removed exactly for Gaussian samples: S with n - 1 degrees of freedom, |m|^2
    less tr(S) / n, and E[log det S] = log det Σ + D log(2 / (n - 1)) + Σ_i ψ((n - 1 - i) / 2),
    i = 0..D-1 (the Wishart distribution's log determinant). It can fall below 0 near a perfect match.
    In float64 with torch's linear algebra, as `frechet_distance`: notebook 03 bootstraps it beside torch's
    threads, with which NumPy's OpenBLAS threads contend.
    """
    z = torch.as_tensor(z).detach().cpu().double()                        # (n, D)
    n, d = z.shape
    m, covariance = z.mean(0), torch.atleast_2d(torch.cov(z.T))
    log_det_bias = d * np.log(2 / (n - 1)) + digamma((n - 1 - np.arange(d)) / 2).sum()
    log_det = torch.linalg.slogdet(covariance)[1] - log_det_bias
    trace = covariance.trace()
    return float(0.5 * (trace + m @ m - trace / n - d - log_det) / d)


def gaussian_fit_draws(codes: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """Codes from the Gaussian fitted to `codes` (N, D) (mean, full covariance), one per row of eps (n, D)
    ~ N(0, I): loc + eps L^T, L the covariance's Cholesky factor (Ghosh et al. 2020's simplest ex-post
    density for a deterministic AE)."""
    fitted = torch.distributions.MultivariateNormal(codes.mean(0), covariance_matrix=codes.T.cov())
    return fitted.loc + eps @ fitted.scale_tril.T


def mmd_test(x: torch.Tensor, y: torch.Tensor, permutations: int = MMD_PERMUTATIONS, seed: int = 0,
             batch: int = 250) -> dict[str, float]:
    """Squared MMD between samples x and y (n, D) with a Gaussian kernel (bandwidth: the median pairwise
    distance of the pooled sample) and its permutation p-value: the share of `permutations` random
    relabellings of the pooled sample (draws of the statistic when x and y come from one distribution)
    at least as large, counting the observed one (Phipson & Smyth 2010).

    With a the indicator of "from x" in the pooled sample, K the kernel and s = K 1, the statistic is
    (4 a'Ka - 4 a's + 1'K1) / n^2, so each relabelling costs one quadratic form, `batch` at a time."""
    pooled = torch.cat([x, y]).double()
    distances = torch.cdist(pooled, pooled).square()                   # (2n, 2n)
    bandwidth = distances[distances > 0].median()
    kernel = torch.exp(-distances / bandwidth)
    n = len(x)
    row_sums, total = kernel.sum(1), kernel.sum()

    def statistic(first: torch.Tensor) -> torch.Tensor:                # first: (2n, B) 0/1, 1 for "x"
        quadratic = (first * (kernel @ first)).sum(0)
        return (4 * quadratic - 4 * row_sums @ first + total) / n ** 2

    observed = statistic((torch.arange(2 * n) < n).double()[:, None])[0]
    g = torch.Generator().manual_seed(seed)
    null = []
    for start in range(0, permutations, batch):
        size = min(batch, permutations - start)
        ranks = torch.rand(2 * n, size, generator=g, dtype=torch.float64).argsort(0)
        null.append(statistic((ranks < n).double()))                  # n of the 2n rows at random, per column
    null = torch.cat(null)
    return {"mmd2": float(observed), "p_value": float(((null >= observed).sum() + 1) / (permutations + 1)),
            "n": n, "permutations": permutations}


def aggregate_posterior(mu: torch.Tensor, logvar: torch.Tensor, n: int = 2000,
                        permutations: int = MMD_PERMUTATIONS, seed: int = 0) -> dict:
    """q(z) of the images whose posteriors are (mu, logvar), (N, D) each, against N(0, I): moments, the
    Gaussian fit's KL (from the moments, and per dimension from one draw per image) and the MMD test
    between n draws from each."""
    g = torch.Generator().manual_seed(seed)
    draws = mu + torch.randn(mu.shape, generator=g) * (0.5 * logvar).exp()            # z ~ q(z), one per image
    pick = torch.randperm(len(mu), generator=g)[:n]
    prior = torch.randn(len(pick), mu.shape[1], generator=g)                          # z ~ N(0, I)
    mean, variance = aggregate_moments(mu, logvar)
    test = mmd_test(draws[pick], prior, permutations, seed)
    return {"mean": mean.tolist(), "variance": variance.tolist(), "gaussian_fit_kl": gaussian_fit_kl(mu, logvar),
            "gaussian_fit_kl_per_dimension": gaussian_fit_kl_per_dimension(draws),
            "mmd": test, "mmd_tells_apart": test["p_value"] < MMD_LEVEL,
            "test": f"MMD two-sample test of q(z) = N(0, I) (Gaussian kernel, median bandwidth), {len(pick)} draws "
                    f"from each, {permutations} permutations; tells them apart when p < {MMD_LEVEL}"}
