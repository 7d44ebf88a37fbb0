"""Notebook 03's verdicts on the two lab reports' claims about the AE and the VAE.

Each claim is one statistic of the AE/VAE pairs of every training seed (`metrics.model_pair`), oriented
to hold above a threshold, with its interval (`metrics.uncertainty`): a comparison of per-image values
gets the two-level interval over the seeds and the test images they share; a claim with one value per
seed (a trend's margin, an MMD margin), the t interval on the per-seed values (no interval with one
seed). Each returns `labutils.metrics.verdicts.Verdict`s, the form every notebook records:
`ae_alone` for notebook 01, `vae_alone` for 02, `decide` (the comparisons) for 03.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from IPython.display import Markdown

from labutils.metrics.frechet import frechet_distance
from labutils.metrics.model_pair import PairMeasurements
from labutils.metrics import trends
from labutils.metrics.uncertainty import bootstrap_interval, negated, t_interval
from labutils.metrics.verdicts import DOES_NOT_HOLD, HOLDS, OUTCOMES, WITHIN_NOISE, Verdict

# "Stable" ("AE loss ... plateaus", "KL divergence ... stabilizes"): the one definition, `metrics.trends.stability`,
# which 04's "D's loss stabilizes" uses too.
STABLE_TOLERANCE = trends.STABLE_TOLERANCE
STABLE_MIN_EPOCHS = trends.STABLE_MIN_EPOCHS
# The AE "lacks generative capability" when its samples from N(0, I) are more than twice as far from
# the test images (Fréchet distance in the digit classifier's features) as the VAE's.
GENERATION_FAILS_RATIO = 2
# Fréchet distances are resampled fewer times than means: each resample computes two of them per seed.
FRECHET_RESAMPLES = 200


def stability_margin(series: Sequence[float]) -> float:
    """STABLE_TOLERANCE minus the size of the series' drift (`metrics.trends.drift`): > 0 when stable; nan
    for a run shorter than STABLE_MIN_EPOCHS, whose tail is too short to show a plateau."""
    return trends.stability(series)["estimate"]


def _stable_over_seeds(series: Sequence[Sequence[float]]) -> tuple[dict, str]:
    """Each seed's stability margin, their t interval over the seeds (none where a run is too short to
    read), and the evidence: each seed's drift and the tolerances at which the verdict would flip."""
    margins = [stability_margin(s) for s in series]
    if not np.all(np.isfinite(margins)):
        return ({"estimate": float("nan"), "low": None, "high": None, "level": None, "seeds": len(series),
                 "method": f"none: a run shorter than {STABLE_MIN_EPOCHS} epochs"},
                f"runs of {min(map(len, series))} epoch(s) cannot show a plateau")
    interval = {**t_interval(margins), "tolerance": STABLE_TOLERANCE}
    drifts = ", ".join(f"{100 * trends.drift(s)['estimate']:+.1f}%" for s in series)
    return interval, f"drift per seed {drifts}; {trends.flip_text(interval)}"


def early_rise(series: Sequence[float]) -> float:
    """How much a per-epoch series rose from epoch 1 to the end of the first 20% of the epochs."""
    early = max(1, round(0.2 * len(series)))
    return float(series[early - 1] - series[0])


def _paired(pairs, first: str, second: str) -> list[np.ndarray]:
    """Per seed, per image: attribute `first` minus attribute `second`."""
    return [getattr(p, first) - getattr(p, second) for p in pairs]


def _frechet_ratio(rows: np.ndarray) -> float:
    """rows (N, 3F): [AE sample | VAE sample | test image] features; FD(AE) / FD(VAE) against the test images."""
    ae, vae, test = np.split(rows, 3, axis=1)
    return frechet_distance(ae, test) / frechet_distance(vae, test)


def ae_alone(test_losses: Sequence[Sequence[float]]) -> list[Verdict]:
    """Notebook 01's verdict, on the AE's per-epoch test loss of each seed."""
    ae_plateau, evidence = _stable_over_seeds(test_losses)
    return [
        Verdict("AE loss plateaus", "report 1",
                f"{100 * STABLE_TOLERANCE:.0f}% minus the size of the AE test loss's drift (its change if trained as "
                "long again at its Theil–Sen rate over the last half of the epochs, relative to its level), per seed "
                "(t interval over the seeds)", ae_plateau, evidence=evidence,
                quote="Loss Comparison: AE loss decreases rapidly and plateaus lower than VAE.",
                reading=trends.STABLE_READING),
    ]


def vae_alone(test_kls: Sequence[Sequence[float]]) -> list[Verdict]:
    """Notebook 02's verdicts, on the VAE's per-epoch test KL of each seed."""
    kl_rise = t_interval([early_rise(kl) for kl in test_kls])
    kl_stable, evidence = _stable_over_seeds(test_kls)
    quote = ("KL Divergence (VAE): Increases initially and stabilizes, ensuring latent space approximates standard "
             "normal distribution.")
    return [
        Verdict("KL divergence increases initially", "report 1",
                "test KL at the end of the first 20% of the epochs minus at epoch 1 (nats), per seed (t interval "
                "over the seeds)", kl_rise, quote=quote,
                reading="\"Initially\" as the first 20% of the epochs: the KL must be higher there than at epoch 1."),
        Verdict("KL divergence stabilises", "report 1",
                f"{100 * STABLE_TOLERANCE:.0f}% minus the size of the test KL's drift (its change if trained as long "
                "again at its Theil–Sen rate over the last half of the epochs, relative to its level), per seed "
                "(t interval over the seeds)", kl_stable,
                evidence=f"final test KL {np.mean([kl[-1] for kl in test_kls]):.2f} nats, mean over {len(test_kls)} "
                         f"seed(s); {evidence}", quote=quote, reading=trends.STABLE_READING),
    ]


def decide(pairs: Sequence[PairMeasurements], seed: int = 0) -> list[Verdict]:
    """Notebook 03's verdicts, the comparisons of the AE with the VAE, from the pairs of every seed."""
    seeds = len(pairs)
    over = f"{seeds} seed(s)"
    recon = bootstrap_interval(_paired(pairs, "vae_error", "ae_error"), seed=seed)
    objective = bootstrap_interval(_paired(pairs, "vae_objective", "ae_objective"), seed=seed)
    structure = {m: bootstrap_interval([getattr(p, m)["vae"] - getattr(p, m)["ae"] for p in pairs], seed=seed)
                 for m in ("knn_correct", "probe_correct", "silhouette")}
    features = [np.concatenate([p.generated_features[k] for k in ("ae_prior", "vae_prior", "test")], axis=1)
                for p in pairs]
    generation = bootstrap_interval(features, _frechet_ratio, resamples=FRECHET_RESAMPLES, seed=seed, method="basic")
    prior = t_interval([p.aggregate["mmd"]["threshold_95"] - p.aggregate["mmd"]["mmd2"] for p in pairs])
    kl_last = np.mean([p.test_kl[-1] for p in pairs])
    p_values = ", ".join(f"{p.aggregate['mmd']['p_value']:.3f}" for p in pairs)
    fit_kl = np.mean([p.aggregate["gaussian_fit_kl"] for p in pairs])
    return [
        Verdict("AE achieves better reconstruction (lower loss)", "report 1",
                "VAE's minus AE's test error per pixel (the VAE decoding its posterior mean μ(x))", recon,
                evidence=f"AE {np.mean([p.ae_error.mean() for p in pairs]):.5f}, VAE "
                         f"{np.mean([p.vae_error.mean() for p in pairs]):.5f} per pixel, mean over {over}"),
        Verdict("VAE tends to have a lower reconstruction error compared to AE", "report 2",
                "AE's minus VAE's test error per pixel (the VAE decoding μ(x))", negated(recon),
                evidence="the same measurement as report 1's, the other way round"),
        Verdict("AE loss plateaus lower than VAE", "report 1",
                "VAE's minus AE's training objective per image on the test images (784 × MSE for the AE; "
                "summed squared error of a draw z ~ q(z|x) + β·KL for the VAE)", objective,
                evidence=f"unlike things: {kl_last:.1f} nats of the VAE's objective are its KL term"),
        *[Verdict(f"The VAE's latent space is more structured ({name})", "both reports",
                  f"VAE's minus AE's {what} on the test images", structure[m],
                  evidence=f"AE {np.mean([getattr(p, m)['ae'].mean() for p in pairs]):.4f}, VAE "
                           f"{np.mean([getattr(p, m)['vae'].mean() for p in pairs]):.4f}, mean over {over}")
          for m, name, what in (("knn_correct", "kNN", "kNN accuracy (k = 5)"),
                                ("probe_correct", "linear probe", "linear-probe accuracy"),
                                ("silhouette", "silhouette", "mean silhouette of the digit classes"))],
        Verdict("AE lacks generative capability", "report 1",
                "Fréchet distance to the test images (classifier features) of the AE decoder on z ~ N(0, I), "
                "over the VAE's on the same z", generation, threshold=GENERATION_FAILS_RATIO,
                evidence=f"holds when the AE's samples are more than {GENERATION_FAILS_RATIO}× as far as the VAE's"),
        Verdict("The KL term ensures the latent space approximates a standard normal distribution", "report 1",
                "MMD test's 95% threshold minus the MMD² between draws from q(z) and from N(0, I) (notebook 02's "
                "test), per seed (t interval): above 0 when the test cannot tell them apart", prior,
                evidence=f"p = {p_values}; KL of q(z)'s Gaussian fit to N(0, I) {fit_kl:.2f} nats"),
    ]


def reading(verdicts: Sequence[Verdict]) -> Markdown:
    """How many claims hold, and which ones the estimate alone would have decided otherwise."""
    counts = {o: sum(v.outcome == o for v in verdicts) for o in OUTCOMES}
    changed = [v for v in verdicts if v.outcome != v.point_outcome]
    text = (f"Of {len(verdicts)} claims, {counts[HOLDS]} hold, {counts[DOES_NOT_HOLD]} do not and "
            f"{counts[WITHIN_NOISE]} are within noise.")
    if changed:
        text += (" Without the intervals, the estimates alone would have read " + "; ".join(
            f"\"{v.claim}\" as *{v.point_outcome}* (with them: *{v.outcome}*)" for v in changed) + ".")
    else:
        text += " Every verdict is the one the estimate alone gives: no interval reaches across a threshold."
    return Markdown(text)
