"""What notebooks 01 (autoencoder) and 02 (VAE) say about their runs, as Markdown built from the numbers."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from IPython.display import Markdown

from labutils.runtime import repo_root


def shown_path(path: Path) -> str:
    """A written file's path as a reader finds it: from the repository root where it lies inside it."""
    return str(path.relative_to(repo_root()) if path.is_relative_to(repo_root()) else path)


def autoencoder_results(metrics: Mapping, path: Path) -> Markdown:
    """Notebook 01's results: the test error against the last training epoch's, and the codes' spread."""
    gap = 100 * (metrics["test_mse"] / metrics["train_mse_last_epoch"] - 1)
    side = (f"{abs(gap):.1f}% below it: the training loss is averaged over an epoch whose weights were still "
            "improving, the test error is measured after it" if gap < 0 else f"{gap:.1f}% above it")
    return Markdown(
        f"- Test reconstruction error: **{metrics['test_mse']:.5f}** mean squared error per pixel (pixels in [0, 1]) "
        f"after {metrics['epochs']} epochs ({metrics['train_seconds']:.0f} s of training); the training loss of the "
        f"last epoch was {metrics['train_mse_last_epoch']:.5f}, so the test error is {side}.\n"
        f"- The code dimensions are far from a common scale: their standard deviations over the test set range "
        f"from {metrics['latent_std_min']:.2f} to {metrics['latent_std_max']:.2f}, and the largest mean is "
        f"{metrics['latent_mean_abs_max']:.2f} away from zero.\n"
        f"- Metrics written to `{shown_path(path)}`.")


def error_by_latent_size(test_mse: Mapping[int, float], epochs: Mapping[int, int]) -> pd.DataFrame:
    """One row per code size: its test error, its epochs, and the error relative to the largest code's."""
    largest = max(test_mse)
    return pd.DataFrame({"test MSE per pixel": test_mse, "epochs": epochs,
                         f"relative to latent_dim = {largest}": {d: v / test_mse[largest] for d, v in test_mse.items()}}
                        ).rename_axis("latent_dim").round(5)


def collapse_table(summed: Mapping, averaged: Mapping, latent_dim: int) -> Markdown:
    """Notebook 02's posterior-collapse demo: KL, active units and error with the summed and the averaged term."""
    rows = [("summed over pixels", summed, f"{summed['kl']:.2f}"), ("mean over pixels", averaged, f"{averaged['kl']:.3f}")]
    return Markdown("| reconstruction term | KL (nats per image) | active units | reconstruction MSE per pixel |\n"
                    "|---|---|---|---|\n" + "\n".join(
                        f"| {name} | {kl} | {run['active_units']} of {latent_dim} | {run['mse']:.4f} |"
                        for name, run, kl in rows))


def _elbo_line(metrics: Mapping, beta: float) -> str:
    """The test ELBO in nats and how it relates to the loss: -ELBO = loss + constant only with beta = 1."""
    elbo = metrics.get("test_elbo_nats")
    if elbo is None:
        return ("- Test ELBO: not measured, as the reconstruction term is not the squared error summed over "
                "pixels, the Gaussian decoder's log-density.")
    constant = -elbo - metrics["test_recon"] - metrics["test_kl"]
    relation = (f"with β = 1 that is the loss + {constant:.1f}" if beta == 1 else
                f"with β = {beta:g} that is not the loss + {constant:.1f}, as the loss weighs the KL by β")
    return (f"- Test ELBO, a lower bound on log p(x): **{elbo:.1f}** nats per image (higher is better); "
            f"−ELBO = reconstruction + KL + {constant:.1f} (the Gaussian decoder's constant): {relation}.")


def vae_results(metrics: Mapping, beta: float, latent_dim: int, path: Path) -> Markdown:
    """Notebook 02's results: reconstruction, KL and active units, the loss, the ELBO and the collapse demo."""
    demo = metrics["posterior_collapse_demo"]
    s, m = demo["sum"], demo["mean"]
    return Markdown(
        f"- Test reconstruction error, decoding the posterior mean: **{metrics['test_recon_mse']:.5f}** per pixel.\n"
        f"- Test KL divergence: **{metrics['test_kl']:.2f}** nats per image; **{metrics['active_units']}** of "
        f"{latent_dim} latent dimensions are active.\n"
        f"- Test VAE loss (the training objective, reconstruction + β · KL): **{metrics['test_loss']:.2f}** per "
        f"image, of which {metrics['test_recon']:.2f} reconstruction and {beta:g} × {metrics['test_kl']:.2f} KL.\n"
        f"{_elbo_line(metrics, beta)}\n"
        f"- With the reconstruction term averaged over pixels instead of summed, the KL after "
        f"{metrics['collapse_demo_epochs']} epochs is {m['kl']:.3f} nats against {s['kl']:.2f}, with "
        f"{m['active_units']} active units against {s['active_units']}.\n"
        f"- Metrics written to `{shown_path(path)}`.")


def aggregate_posterior(measured: Mapping, active: Sequence[bool]) -> Markdown:
    """Notebook 02's description of q(z) against N(0, I): moments over the active dimensions, the Gaussian
    fit's KL and the two-sample test's p-value (notebook 03 decides report 1's claim)."""
    mean = [m for m, a in zip(measured["mean"], active) if a] or measured["mean"]
    variance = [v for v, a in zip(measured["variance"], active) if a] or measured["variance"]
    mmd = measured["mmd"]
    told = "tells q(z) from N(0, I)" if measured["mmd_tells_apart"] else "cannot tell q(z) from N(0, I)"
    return Markdown(
        f"- Over the {sum(active)} active dimensions the mean of q(z) lies between {min(mean):+.2f} and "
        f"{max(mean):+.2f} and its variance between {min(variance):.2f} and {max(variance):.2f} (the prior: 0 and 1).\n"
        f"- KL from the Gaussian fitted to q(z) to N(0, I): **{measured['gaussian_fit_kl']:.2f}** nats, "
        f"{measured['gaussian_fit_kl_per_dimension']:.4f} per dimension from one draw per image (small-sample "
        f"bias removed).\n"
        f"- {mmd['n']} draws from q(z) against {mmd['n']} from N(0, I): MMD² = {mmd['mmd2']:.5f}, p = "
        f"{mmd['p_value']:.4f} ({mmd['permutations']} permutations): the test {told} at the 5 % level. A test of "
        f"equality tells any imperfect match apart once it has enough draws, so it cannot say \"approximates\": "
        f"notebook 03 decides that on the KL per dimension against a tolerance.")


def seed_table(values: Mapping[int, float], name: str,
               others: Mapping[str, Mapping[int, float]] | None = None) -> pd.DataFrame:
    """One row per training seed, then their mean and their spread (largest minus smallest)."""
    table = pd.DataFrame({name: values, **(others or {})})
    table.index.name = "seed"
    summary = pd.DataFrame({"mean": table.mean(), "spread (max − min)": table.max() - table.min()}).T
    return pd.concat([table, summary]).round(5)
