"""`make gan-search`: the search for the GAN set-up the lab recommends, and its final comparison.

    python -m labtools.gan_search                    # every candidate, every search seed, quick budget
    python -m labtools.gan_search --seeds 1000 --only "reports' set-up"
    python -m labtools.gan_search --compare RECIPE [--profile full --epochs 30]   # on the final seeds
    python -m labtools.gan_search --compare RECIPE --profile full --epochs 60 --continue-from 30

Each candidate recipe, taken from the literature that notebook 04 cites (DCGAN, DiffAugment, R1 and lazy
regularisation, EMA, R3GAN's relativistic pairing loss with R1 + R2 and its normalisation-free D and
Adam betas), trains DCGAN-sized networks at a profile of 04: its image size and epochs (quick: 32 px,
20 epochs) on all the training images, so every candidate makes the same number of updates. It is
measured as 04 measures its runs: the sliced Wasserstein distance of `swd_images` generated images to as
many real ones, divided by the floor (real against real), averaged over `REPEATS` fresh draws of both.
One value per training seed; the table gives the mean with its 95 % t interval over seeds, and the paired
difference from the reports' set-up on the same seeds. The cost per update is the median epoch's wall
time over its updates (robust to the first epoch, which warms kernels up, while it is one of many).

The rule that picks the recommended recipe (`recommend`), fixed when one candidate had been measured on
one seed: the lowest mean SWD/floor over the seeds every candidate has, unless a candidate at least 10 %
cheaper per update has a mean within 5 % of it; amended before any run at 64 px (docs/gan_recipe.md): of
the candidates whose diversity is at least half the real images'.

The search trains on SEARCH_SEEDS and draws its real samples with them (and REPEAT_SEED_STRIDE apart);
`--compare` runs the chosen recipe against the reports' set-up on FINAL_SEEDS, whose training seeds and
real samples share none with the search's: the recipe is measured on data that did not choose it. Runs
are checkpointed as any other, so a rerun measures without training. Writes outputs/gan_search/:
search-<size>px-<epochs>ep.json (or compare-...), a sample grid per run, and prints the table.
"""
from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from labutils import plots
from labutils.config import GANConfig
from labutils.data.gan_data import load_gan_data
from labutils.metrics.diversity import diversity_against_floor, pixel_features
from labutils.metrics.images import REPEAT_SEED_STRIDE, swd_repeats
from labutils.metrics.uncertainty import t_interval
from labutils.models.sampling import noise
from labutils.profiles import FULL, PROFILES
from labutils.runtime import outputs_dir
from labutils.training.gan import train_gan
from labutils.training.gan_options import RECIPE, SMALL_DATA_OPTIONS, uint8_samples

SEARCH_SEEDS = (1000, 1001, 1002)
FINAL_SEEDS = (5000, 5001, 5002)  # the final comparison's, never used to choose
REPEATS = 3  # fresh real and generated samples per measurement, seeded seed + REPEAT_SEED_STRIDE * r
REFERENCE = "reports' set-up"
RECIPE_CANDIDATE = "R3GAN-style: no BatchNorm in D, betas (0, 0.99)"
R3GAN = {"loss": "relativistic", "r1_gamma": 1.0, "r2_gamma": 1.0, "r1_every": 4}
G_ITSELF = "__sample_g_itself"  # a candidate that samples G, not its moving average: the same training

# name: changes to the reports' set-up (DCGAN: BCE, BatchNorm in both networks, Adam 2e-4 (0.5, 0.999)).
# The EMA's decay: not searched at this budget, where its warm-up, min(decay, (1 + t) / (10 + t)), stays
# below 0.99 until update 890, so 0.999 and 0.99 train and sample alike (seed 1000: SWD 129.7 both).
CANDIDATES: dict[str, dict[str, Any]] = {
    REFERENCE: {},
    # Added when seed 1000 had shown DiffAugment slowing every recipe at this budget: the options without it
    "the reports' set-up + EMA": {"ema": True},
    "the reports' set-up + R1 + EMA": {"ema": True, "r1_gamma": SMALL_DATA_OPTIONS["r1_gamma"],
                                      "r1_every": SMALL_DATA_OPTIONS["r1_every"]},
    "DiffAugment + R1 + EMA (the lab's options)": dict(SMALL_DATA_OPTIONS),
    "DiffAugment + R1, G itself (no EMA)": {**SMALL_DATA_OPTIONS, G_ITSELF: True},
    "the lab's options, Adam betas (0, 0.99)": {**SMALL_DATA_OPTIONS, "beta1": 0.0, "beta2": 0.99},
    "the lab's options, DiffAugment with cutout": {**SMALL_DATA_OPTIONS,
                                                   "diffaugment_policy": "color,translation,cutout"},
    "RpGAN + R1 + R2 + EMA": {**R3GAN, "ema": True},
    "RpGAN + R1 + R2 + EMA, no BatchNorm in D": {**R3GAN, "ema": True, "d_batchnorm": False},
    # The one that the amended rule picked: the lab's recipe (RECIPE), which notebook 04 trains
    RECIPE_CANDIDATE: dict(RECIPE),
    "R3GAN-style + DiffAugment": {**RECIPE, "diffaugment": True},
    # R3GAN's own weight at 32 px (CIFAR-10): gamma 0.05, a twentieth of the lab's R1 weight
    "R3GAN-style, gamma 0.05": {**RECIPE, "r1_gamma": 0.05, "r2_gamma": 0.05},
}


def budget(profile: str = "quick", epochs: int | None = None) -> dict[str, Any]:
    """04's image size, epochs and distance sample size under `profile`, the epochs overridable."""
    values = {**FULL["04_gan"], **PROFILES[profile].get("04_gan", {})}
    image_size = values["image_size"] or GANConfig().image_size
    return {"profile": profile, "image_size": image_size, "num_epochs": epochs or values["num_epochs"],
            "swd_images": values["swd_images"]}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def measurement_seeds(seeds) -> set[int]:
    """The seeds of every real sample (and its patches and projections) that `seeds` are measured on."""
    return {seed + REPEAT_SEED_STRIDE * r for seed in seeds for r in range(REPEATS)}


def candidate_config(changes: dict[str, Any], **fields: Any) -> tuple[GANConfig, bool]:
    """The config a candidate trains, and whether it samples G itself rather than its moving average."""
    changes = dict(changes)
    g_itself = changes.pop(G_ITSELF, False)
    # swd_every=0: no in-training distance (it is not part of the run's name, and it is not training's cost)
    return GANConfig(swd_every=0, **fields, **changes), g_itself


def measure_run(name: str, changes: dict[str, Any], seed: int, budget: dict[str, Any], data, out: Path,
                continue_from: int | None = None) -> dict:
    """Train (or load) one candidate on one seed and measure it against the real images; `continue_from=N`
    trains on from its N-epoch run instead of from the start (the same result, `train_gan`)."""
    config, g_itself = candidate_config(changes, image_size=budget["image_size"], num_epochs=budget["num_epochs"],
                                        seed=seed)
    budget_name = f"{budget['image_size']}px-{budget['num_epochs']}ep"
    run = train_gan(config, progress=False, verbose=False, data=data, continue_from=continue_from)
    n = min(budget["swd_images"], len(data.images) // 2)
    fake = uint8_samples(run.step.generator if g_itself else run.step.sampler,
                         noise(REPEATS * n, config.latent_dim, seed + 7))
    measured = swd_repeats(data.images, {"fake": fake}, n, REPEATS, seed=seed)
    ratios = [f / floor for f, floor in zip(measured["fake"], measured["floor"])]
    # 04's "diverse": recall on 16 x 16 thumbnails over the floor's (1: as varied as real images; a collapsed G ~0)
    diversity = diversity_against_floor(pixel_features, data.images, fake, n, repeats=REPEATS, seed=seed)
    per_epoch = len(run.train_loader)
    updates = per_epoch * len(run.history)
    # The median epoch: robust to the first (kernels warm up) while it is one epoch of many
    epoch_seconds = float(np.median([row["seconds"] for row in run.history.epochs]))
    fig = plots.image_grid(fake[:64].float() / 255, title=f"{name}, seed {seed}", nrow=8,
                           image_shape=tuple(fake.shape[1:]))
    fig.savefig(out / f"{slug(name)}-{budget_name}-seed{seed}.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    return {"candidate": name, "seed": seed, "budget": budget_name, "run": run.checkpoint.stem, "loaded": run.loaded,
            "swd": float(np.mean(measured["fake"])), "floor": float(np.mean(measured["floor"])),
            "ratio": float(np.mean(ratios)), "ratios": ratios,
            "recall_ratio": float(np.mean(diversity["recall_ratio"])), "epochs": len(run.history), "updates": updates,
            "updates_per_epoch": per_epoch,
            "train_seconds": run.history.total_seconds,
            "ms_per_update": 1000 * epoch_seconds / per_epoch}


def table(rows: list[dict]) -> str:
    """The markdown table: per candidate, SWD/floor with its t interval over seeds, the paired
    difference from the reports' set-up, and the cost per update."""
    by_name: dict[str, dict[int, dict]] = {}
    for row in rows:
        by_name.setdefault(row["candidate"], {})[row["seed"]] = row
    reference = by_name.get(REFERENCE, {})
    lines = ["| recipe | seeds | SWD / floor, mean [95% t over seeds] | minus the reports' set-up, paired [95%] "
             "| recall / floor (diverse) | ms per update | s per epoch |", "|---|---|---|---|---|---|---|"]

    def fmt(interval):
        if interval["low"] is None:
            return f"{interval['estimate']:.2f} (one seed)"
        return f"{interval['estimate']:.2f} [{interval['low']:.2f}, {interval['high']:.2f}]"

    for name in CANDIDATES:
        seeds = by_name.get(name)
        if not seeds:
            continue
        ratio = t_interval([seeds[s]["ratio"] for s in sorted(seeds)])
        paired = [seeds[s]["ratio"] - reference[s]["ratio"] for s in sorted(seeds) if s in reference]
        diff = fmt(t_interval(paired)) if name != REFERENCE and paired else "—"
        cost = float(np.mean([r["ms_per_update"] for r in seeds.values()]))
        per_epoch = next(iter(seeds.values())).get("updates_per_epoch")
        epoch_cost = f"{cost * per_epoch / 1000:.1f}" if per_epoch else "—"
        recalls = [r["recall_ratio"] for r in seeds.values() if "recall_ratio" in r]
        recall = f"{np.mean(recalls):.2f}" if len(recalls) == len(seeds) else "—"
        lines.append(f"| {name} | {', '.join(map(str, sorted(seeds)))} | {fmt(ratio)} | {diff} | {recall} | {cost:.0f} "
                     f"| {epoch_cost} |")
    return "\n".join(lines)


def recommend(rows: list[dict], seeds=SEARCH_SEEDS, tolerance: float = 0.05, cheaper: float = 0.10,
              min_recall: float = 0.5) -> str:
    """Of the candidates beyond the reports' set-up measured on every one of `seeds` (whether it beats the
    reports' set-up is the final comparison's question) whose mean diversity (recall over the floor's) is
    at least `min_recall` (below it a generator has collapsed, and the distance alone would reward its
    sharp repeated patterns), the lowest mean SWD/floor over those seeds, unless one at least `cheaper`
    (relative) cheaper per update has a mean within `tolerance` of it: then the cheapest of those. Costs
    that differ by less are the machine's noise, not the recipe's."""
    by_name: dict[str, dict[int, dict]] = {}
    for row in rows:
        by_name.setdefault(row["candidate"], {})[row["seed"]] = row
    complete = {name: [runs[s] for s in seeds] for name, runs in by_name.items()
                if name != REFERENCE and set(seeds) <= set(runs)}
    if not complete:
        raise ValueError(f"No candidate was measured on every seed of {tuple(seeds)}: nothing to recommend.")
    complete = {name: runs for name, runs in complete.items()
                if np.mean([r["recall_ratio"] for r in runs]) >= min_recall}
    if not complete:
        raise ValueError(f"Every candidate measured on seeds {tuple(seeds)} collapses (diversity below "
                         f"{min_recall} of the real images'): nothing to recommend.")
    mean = {name: float(np.mean([r["ratio"] for r in runs])) for name, runs in complete.items()}
    cost = {name: float(np.mean([r["ms_per_update"] for r in runs])) for name, runs in complete.items()}
    best = min(mean, key=mean.get)
    close = [name for name in mean if mean[name] <= mean[best] * (1 + tolerance)
             and cost[name] <= cost[best] * (1 - cheaper)]
    return min(close, key=cost.get) if close else best


def print_recommendation(rows: list[dict], seeds) -> None:
    try:
        print(f"Recommended by the rule (recommend, on seeds {', '.join(map(str, seeds))}): {recommend(rows, seeds)}")
    except ValueError as error:
        print(f"No recommendation yet: {error}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--compare", metavar="RECIPE", choices=list(CANDIDATES),
                        help="the final comparison: RECIPE against the reports' set-up, on FINAL_SEEDS")
    parser.add_argument("--seeds", type=int, nargs="+", help=f"default: search {SEARCH_SEEDS}, compare {FINAL_SEEDS}")
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES), help="candidates to search (default: all)")
    parser.add_argument("--profile", choices=list(PROFILES), default="quick", help="04's budget (default: quick)")
    parser.add_argument("--epochs", type=int, help="epochs instead of the profile's")
    parser.add_argument("--continue-from", type=int, metavar="EPOCHS",
                        help="train on from each run's checkpoint at EPOCHS epochs (the same budget's runs, longer)")
    parser.add_argument("--out", type=Path, default=None, help="folder (default: outputs/gan_search)")
    parser.add_argument("--table", action="store_true", help="print the table of the runs measured so far, no more")
    args = parser.parse_args(argv)
    kept, seeds = (SEARCH_SEEDS, args.seeds or FINAL_SEEDS) if args.compare else (FINAL_SEEDS, args.seeds or SEARCH_SEEDS)
    shared = measurement_seeds(seeds) & measurement_seeds(kept)
    if shared:
        parser.error(f"seeds {sorted(seeds)} would train or draw real samples (seeds {sorted(shared)}) that the "
                     f"{'search' if args.compare else 'final comparison'} keeps for itself: choose others.")
    if args.compare and args.only:
        parser.error("--only chooses candidates of the search; --compare runs its recipe and the reports' set-up.")
    spend = budget(args.profile, args.epochs)
    out = args.out or outputs_dir() / "gan_search"
    out.mkdir(parents=True, exist_ok=True)
    results = out / f"{'compare' if args.compare else 'search'}-{spend['image_size']}px-{spend['num_epochs']}ep.json"
    rows = [r for r in (json.loads(results.read_text()) if results.exists() else []) if r["candidate"] in CANDIDATES]
    if args.table:
        print(table(rows))
        if not args.compare:
            print_recommendation(rows, seeds)
        return
    data = load_gan_data(GANConfig(image_size=spend["image_size"]))
    print(f"{len(data.images)} training images at {spend['image_size']} px ({data.source}); "
          f"{spend['num_epochs']} epochs, SWD on {spend['swd_images']} images, {REPEATS} repeats")
    names = [REFERENCE, args.compare] if args.compare else (args.only or list(CANDIDATES))
    for seed in seeds:  # seed by seed: a search cut short still has whole seeds
        for name in names:
            start = time.perf_counter()
            row = measure_run(name, CANDIDATES[name], seed, spend, data, out, args.continue_from)
            rows = [r for r in rows if (r["candidate"], r["seed"]) != (name, seed)] + [row]
            results.write_text(json.dumps(rows, indent=1))
            print(f"{name}, seed {seed}: SWD/floor {row['ratio']:.2f} (SWD {row['swd']:.1f}, floor {row['floor']:.1f}), "
                  f"recall/floor {row['recall_ratio']:.2f}, "
                  f"{row['ms_per_update']:.0f} ms per update{' (loaded)' if row['loaded'] else ''}, "
                  f"{time.perf_counter() - start:.0f} s", flush=True)
    print(table(rows))
    if not args.compare:
        print_recommendation(rows, seeds)


if __name__ == "__main__":
    main()
