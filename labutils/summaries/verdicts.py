"""Notebook 03's verdicts on the two lab reports' claims: each a test on the measurements, recorded in
the metrics file (`decide(...).record()`) and read out as a numbered list (`verdict_list`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from IPython.display import Markdown

from labutils.metrics.trends import trend
from labutils.summaries.evaluation import (AE_FITTED, AE_PRIOR, MEASURES, VAE_PRIOR, kl_dips_in_first_epoch,
                                           vae_ahead)

# "Stable": over the last 20% of the epochs (`trend`) a series drifts by less than 2% of its final
# value, over at least 5 epochs.
STABLE_TOLERANCE = 0.02
STABLE_MIN_EPOCHS = 5
# The AE "lacks generative capability" when its samples from N(0, I) are more than twice as far from
# the test images (Fréchet distance) as the VAE's.
GENERATION_FAILS_RATIO = 2


@dataclass(frozen=True)
class Evidence:
    """The measurements the verdicts read, as the notebook holds them."""

    recon: Mapping[str, float]                         # test MSE per pixel: ae, vae_posterior_mean, _sample
    structure: Mapping[str, Mapping[str, float]]       # lab.metrics.structure_table's dict
    generation: Mapping[str, Mapping[str, float]]      # image set -> confidence, ..., frechet_distance
    ae_test_loss: Sequence[float]                      # per epoch, MSE per pixel
    vae_test_loss: Sequence[float]                     # per epoch, per image (784 x MSE + KL)
    test_kl: Sequence[float]                           # per epoch, nats
    kl_trend: Mapping[str, float]                      # trend(test_kl)
    kl_story: Mapping[str, float]                      # the first epoch's KL, and early_epochs
    input_dim: int = 784
    aggregate_posterior: Mapping | None = None         # metrics.prior_match.aggregate_posterior's dict


def is_stable(series_trend: Mapping[str, float], epochs: int) -> bool:
    """Whether a per-epoch series has settled, by the test of `STABLE_TOLERANCE`."""
    return epochs >= STABLE_MIN_EPOCHS and abs(series_trend["tail_relative_change"]) < STABLE_TOLERANCE


def is_narrow(series_trend: Mapping[str, float]) -> bool:
    """Whether the drift is within a quarter of the tolerance of it: the verdict could go either way."""
    return abs(abs(series_trend["tail_relative_change"]) - STABLE_TOLERANCE) < 0.25 * STABLE_TOLERANCE


@dataclass(frozen=True)
class Verdicts:
    """The decisions on the claims, with the derived numbers that the verdict list quotes."""

    ae_reconstructs_better: bool
    objectives: dict[str, float]      # each model's test objective per image at the last epoch
    ae_loss_lower: bool
    ae_trend: dict[str, float]
    ae_plateaus: bool
    vae_ahead: dict[str, bool]        # per structure measure
    kl_rises: bool                    # over the first 20% of the epochs
    kl_stable: bool
    kl_narrow: bool
    ae_fails_to_generate: bool
    fitted_ratio: float               # AE on fitted-Gaussian codes / VAE, Fréchet distance
    latent_matches_prior: bool | None = None  # q(z) against N(0, I) by the MMD test; None: not measured

    def record(self) -> dict[str, bool]:
        """The verdicts as the metrics file records them."""
        prior = {} if self.latent_matches_prior is None else {
            "report1_latent_approximates_standard_normal": self.latent_matches_prior}
        return {
            "report1_ae_reconstructs_better": self.ae_reconstructs_better,
            "report1_ae_loss_lower": self.ae_loss_lower,
            "report2_vae_lower_reconstruction_error": not self.ae_reconstructs_better,
            **{f"vae_more_structured_by_{m}": self.vae_ahead[m] for m in MEASURES},
            "report1_kl_increases_initially": self.kl_rises,
            "report1_kl_stabilizes": self.kl_stable,
            "report1_ae_lacks_generative_capability": self.ae_fails_to_generate,
            **prior,
        }


def decide(evidence: Evidence) -> Verdicts:
    """Every claim's test, on the measurements."""
    e, fd = evidence, {name: scores["frechet_distance"] for name, scores in evidence.generation.items()}
    objectives = {"AE": e.input_dim * e.ae_test_loss[-1], "VAE": e.vae_test_loss[-1]}
    ae_trend = trend(e.ae_test_loss)
    return Verdicts(
        ae_reconstructs_better=e.recon["ae"] < e.recon["vae_posterior_mean"],
        objectives=objectives, ae_loss_lower=objectives["AE"] < objectives["VAE"],
        ae_trend=ae_trend, ae_plateaus=is_stable(ae_trend, len(e.ae_test_loss)),
        vae_ahead=vae_ahead(e.structure),
        kl_rises=e.test_kl[e.kl_story["early_epochs"] - 1] > e.test_kl[0],
        kl_stable=is_stable(e.kl_trend, len(e.test_kl)), kl_narrow=is_narrow(e.kl_trend),
        ae_fails_to_generate=fd[AE_PRIOR] > GENERATION_FAILS_RATIO * fd[VAE_PRIOR],
        fitted_ratio=fd[AE_FITTED] / fd[VAE_PRIOR],
        latent_matches_prior=None if e.aggregate_posterior is None else e.aggregate_posterior["matches_prior"])


def verdict(holds: bool) -> str:
    """A claim's verdict as the list shows it."""
    return "**holds**" if holds else "**does not hold**"


def _reconstruction_item(e: Evidence, v: Verdicts) -> str:
    return (f"1. Report 1, \"AE achieves better reconstruction (lower loss)\": {verdict(v.ae_reconstructs_better)}. "
            f"Test error per pixel: AE {e.recon['ae']:.5f}, VAE {e.recon['vae_posterior_mean']:.5f} (posterior "
            f"mean), {e.recon['vae_posterior_sample']:.5f} (posterior sample). Its \"AE loss … plateaus lower than "
            f"VAE\" {verdict(v.ae_loss_lower)} on each model's objective per image ({v.objectives['AE']:.1f} "
            f"against {v.objectives['VAE']:.1f} at the last epoch), but that compares unlike things: "
            f"{e.test_kl[-1]:.1f} nats of the VAE's objective are its KL term. By the test for \"stable\" of line "
            f"4, the AE's test loss {'has' if v.ae_plateaus else 'has not'} plateaued (it drifts by "
            f"{100 * v.ae_trend['tail_relative_change']:+.1f}% over the last {v.ae_trend['tail_epochs']} epochs).\n"
            f"2. Report 2, \"VAE tends to have a lower reconstruction error compared to AE\": "
            f"{verdict(not v.ae_reconstructs_better)}.")


def _structure_item(e: Evidence, v: Verdicts) -> str:
    s = e.structure
    by = "; ".join(f"by {MEASURES[m]} {verdict(v.vae_ahead[m])} ({s[m]['vae']:.4f} vs {s[m]['ae']:.4f})"
                   for m in MEASURES)
    against = [MEASURES[m] for m in MEASURES if not v.vae_ahead[m]]
    return (f"3. Both reports, \"the VAE's latent space is more structured\": {by}. For reference, raw pixels "
            f"score {s['knn_accuracy']['pixels']:.4f} (kNN), {s['linear_probe_accuracy']['pixels']:.4f} (probe) "
            f"and {s['silhouette']['pixels']:.4f} (silhouette). In all, the claim holds by "
            f"{sum(v.vae_ahead.values())} of {len(MEASURES)} measures"
            + (f", and not by {', '.join(against)}." if against else "."))


def _kl_item(e: Evidence, v: Verdicts) -> str:
    early, story, kl_trend = e.kl_story["early_epochs"], e.kl_story, e.kl_trend
    dip = (f"; within epoch 1 it first spikes to {story['spike']:.1f} nats and collapses to {story['low']:.1f} "
           f"before it climbs" if kl_dips_in_first_epoch(story) else "")
    return (f"4. Report 1, \"KL divergence increases initially\": {verdict(v.kl_rises)} per epoch (test KL "
            f"{e.test_kl[0]:.2f} at epoch 1, {e.test_kl[early - 1]:.2f} at epoch {early}){dip}. \"And "
            f"stabilizes\": {verdict(v.kl_stable)}{' narrowly' if v.kl_narrow else ''} (over the last "
            f"{kl_trend['tail_epochs']} epochs it drifts by {100 * kl_trend['tail_relative_change']:+.1f}% of its "
            f"final {e.test_kl[-1]:.2f} nats; the test: a drift under {100 * STABLE_TOLERANCE:.0f}% over the last "
            f"20% of the epochs, in a run of at least {STABLE_MIN_EPOCHS} epochs).")


def fitted_reading(fitted_ratio: float) -> str:
    """What the AE decoder's distance on codes from a Gaussian fitted to its codes says it lacks."""
    if fitted_ratio <= 1:
        return ("no worse than the VAE, so what the AE lacks is a known distribution of its codes, not a decoder "
                "that can generate")
    if fitted_ratio <= GENERATION_FAILS_RATIO:
        return "so much of what the AE lacks is a known distribution of its codes"
    return "better than from N(0, I), but still more than twice the VAE's distance"


def _generation_item(e: Evidence, v: Verdicts) -> str:
    fd = {name: scores["frechet_distance"] for name, scores in e.generation.items()}
    return (f"5. Report 1, \"AE lacks generative capability\": {verdict(v.ae_fails_to_generate)} for the AE "
            f"decoder on N(0, I) codes (Fréchet distance {fd[AE_PRIOR]:.2f} vs the VAE's {fd[VAE_PRIOR]:.2f}; the "
            f"test is \"more than twice the VAE's\"). With codes drawn from a Gaussian fitted to its own codes the "
            f"AE decoder reaches {fd[AE_FITTED]:.2f}, {v.fitted_ratio:.1f}× the VAE's: "
            f"{fitted_reading(v.fitted_ratio)}.")


def _prior_item(e: Evidence, v: Verdicts) -> str:
    a, mmd = e.aggregate_posterior, e.aggregate_posterior["mmd"]
    return (f"6. Report 1, the KL term's \"ensuring latent space approximates standard normal distribution\": "
            f"{verdict(v.latent_matches_prior)} for the aggregate posterior q(z) of the test images (notebook 02's "
            f"test: MMD² {mmd['mmd2']:.5f} between {mmd['n']} draws from q(z) and from N(0, I), p = "
            f"{mmd['p_value']:.3f} by {mmd['permutations']} permutations, \"differs\" when p < 0.05). Its moments "
            f"are near the prior's: the KL from its Gaussian fit to N(0, I) is {a['gaussian_fit_kl']:.2f} nats.")


def verdict_list(evidence: Evidence) -> Markdown:
    """The numbered verdicts, each with the numbers behind it."""
    v = decide(evidence)
    items = [_reconstruction_item, _structure_item, _kl_item, _generation_item]
    items += [_prior_item] if evidence.aggregate_posterior is not None else []
    return Markdown("\n".join(item(evidence, v) for item in items))
