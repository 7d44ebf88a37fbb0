"""What notebook 04 says about its GAN runs, as Markdown built from the numbers it measured."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd
from IPython.display import Markdown

from labutils.metrics.images import UNAVAILABLE
from labutils.summaries.mnist_models import shown_path


D_WINS_GAP = 0.5  # D(x) - D(G(z)) above this: D tells the two apart easily, and G's gradient weakens


def last_epoch(last: Mapping[str, float]) -> Markdown:
    """D's and G's losses and D's outputs in the last epoch, how to read the gap between them, and which
    state this run is in."""
    gap = last["train_d_real"] - last["train_d_fake"]
    state = (f"At {gap:.2f}, D is winning: it tells real from generated easily, and G learns from a D that "
             "rejects its images." if gap > D_WINS_GAP else
             f"At {gap:.2f}, neither player dominates: D still errs often.")
    return Markdown(
        f"In the last epoch D's loss averaged **{last['train_d_loss']:.2f}** and G's **{last['train_g_loss']:.2f}**; "
        f"D gave real images a probability of **{last['train_d_real']:.2f}** of being real and generated ones "
        f"**{last['train_d_fake']:.2f}** (before its update on that batch). The gap between the two is how easily D "
        f"still tells them apart: 0 at the equilibrium, 1 when it separates them perfectly. {state}")


def copying(distances: Mapping[str, float], k: int) -> Markdown:
    """Generated-to-nearest-training-image distances against the real-to-nearest-other yardstick."""
    return Markdown(
        f"Median distance of a generated image to its nearest training image: **{distances['generated_median_rms']:.1f}** "
        f"(closest of {k}: {distances['generated_min_rms']:.1f}); of a real image to its nearest other training "
        f"image: **{distances['real_median_rms']:.1f}** (closest: {distances['real_min_rms']:.1f}).")


def swd_table(swd: Mapping[str, float], floor: Mapping[str, float], n: int) -> Markdown:
    """The sliced Wasserstein distance per pyramid level, its floor and their ratio."""
    rows = "\n".join(f"| {level} | {swd[level]:.1f} | {floor[level]:.1f} | {swd[level] / floor[level]:.1f} |"
                     for level in swd)
    return Markdown(f"SWD × 10³ between {n} generated and {n} real images, and the floor (the same {n} real images "
                    f"against {n} others):\n\n| pyramid level | generated vs real | real vs real (floor) | ratio |\n"
                    f"|---|---|---|---|\n{rows}")


def frechet(fid: Mapping | None, weights_dir: str, classifier_fd: Mapping | None = None,
            digit_share: Sequence[float] | None = None) -> Markdown:
    """The FID (or why it is unavailable) and, on MNIST, the classifier's Fréchet distance and digit shares."""
    lines = ["- FID (the TensorFlow Inception-v3 of published FIDs, through torch-fidelity): " + (
        f"**{fid['distance']:.2f}**, floor {fid['floor']:.2f}." if fid else
        f"**{UNAVAILABLE}**: no Inception-v3 weights in `{weights_dir}`.")]
    if classifier_fd:
        lines.append(f"- Fréchet distance in the features of the lab's MNIST classifier: "
                     f"**{classifier_fd['distance']:.2f}**, floor {classifier_fd['floor']:.2f}.")
    if digit_share is not None:
        lines.append("- Share of each digit among the generated images, by the classifier: "
                     + ", ".join(f"{d}: {100 * s:.0f}%" for d, s in enumerate(digit_share)) + ".")
    return Markdown("\n".join(lines))


def options_study(study: Mapping[str, Mapping], epochs: int) -> Markdown:
    """One row per variant: its distance, against the reports' set-up, per level, and its training time."""
    if not study:
        return Markdown("Options study skipped (`variant_epochs = 0`).")
    base = study["reports' set-up"]
    levels = [level for level in base["swd_levels"] if level != "average"]
    rows = [f"| {name} | {v['swd']:.1f} | {100 * (v['swd'] / base['swd'] - 1):+.0f}% | "
            + " / ".join(f"{v['swd_levels'][level]:.0f}" for level in levels) + f" | {v['train_seconds']:.0f} s |"
            for name, v in study.items()]
    return Markdown(f"| variant | SWD × 10³ | vs the reports' set-up | per level ({' / '.join(levels)}) | training time |"
                    "\n|---|---|---|---|---|\n" + "\n".join(rows)
                    + f"\n\nFloor (real vs real, {base['n']} images per set): {base['swd_floor']:.1f}. "
                    f"Budget: {epochs} epoch(s) per variant, trained with seed {base['seed']} and measured against "
                    f"the real sample of seed {base['sample_seed']}: not the seed and sample the lab chose the "
                    "options' settings on.")


def recipe_run(label: str, recipe: Mapping, main: Mapping, floor: Mapping[str, float], n: int) -> Markdown:
    """The recipe's run against the main run: SWD per level on the same images and noise, how diverse each
    one's images are, D's last outputs, and the in-training distance of both at the main run's last epoch
    (the same budget).

    `recipe` and `main`: {"epochs", "swd" (per level), "last" (last epoch's row), "recall_ratio" (diversity:
    recall over the floor's, or None)}; `recipe` also holds "changes", "train_seconds" and "same_budget" (its
    in-training distance at main's last epoch or None), "last_swd" (its last in-training distance); `main`
    "last_swd" and "n_train" (images per set)."""
    rows = "\n".join(f"| {level} | {main['swd'][level]:.1f} | {recipe['swd'][level]:.1f} | {floor[level]:.1f} |"
                     for level in main["swd"])
    changes = ", ".join(f"{k}={v}" for k, v in recipe["changes"].items())
    text = (f"{recipe['epochs']} epoch(s) with {changes}, {recipe['train_seconds']:.0f} s of training. SWD × 10³ "
            f"on the same {n} real images and the same noise as the main run:\n\n| pyramid level | reports' set-up, "
            f"{main['epochs']} epoch(s) | {label}, {recipe['epochs']} epoch(s) | real vs real (floor) |\n"
            f"|---|---|---|---|\n{rows}\n\n")
    if recipe.get("recall_ratio") is not None and main.get("recall_ratio") is not None:
        text += (f"How diverse (recall over the floor's: 1 as varied as real images, near 0 collapsed): the reports' "
                 f"set-up {main['recall_ratio']:.2f}, {label} {recipe['recall_ratio']:.2f}.\n\n")
    # D's outputs mean different things under the two losses: a relativistic D scores pairs, not images
    text += (f"In its last epoch D's sigmoid gave real images {recipe['last']['train_d_real']:.2f} and generated ones "
             f"{recipe['last']['train_d_fake']:.2f} (the reports' set-up: {main['last']['train_d_real']:.2f} and "
             f"{main['last']['train_d_fake']:.2f}).")
    if recipe["same_budget"] is not None:
        text += (f"\n\nAt the same budget, epoch {main['epochs']}, the in-training distance ({main['n_train']} images "
                 f"per set) was {main['last_swd']:.1f} for the reports' set-up and {recipe['same_budget']:.1f} with "
                 "the recipe" + (f"; at its last epoch, {recipe['epochs']}, it was {recipe['last_swd']:.1f}."
                                 if recipe["epochs"] > main["epochs"] else "."))
    return Markdown(text)


def lower_everywhere(study: Mapping[str, Mapping]) -> list[str]:
    """The variants whose distance is below the reports' set-up's at every pyramid level: the differences
    that one seed and one budget can be trusted with (a lower average alone can be noise)."""
    base = study["reports' set-up"]["swd_levels"]
    levels = [level for level in base if level != "average"]
    return [name for name, v in study.items() if name != "reports' set-up"
            and all(v["swd_levels"][level] < base[level] for level in levels)]


def study_reading(study: Mapping[str, Mapping]) -> str:
    """Which variants beat the reports' set-up at every level, or that none does."""
    baseline, better = study["reports' set-up"]["swd"], lower_everywhere(study)
    if not better:
        return (f"no variant is below the reports' set-up ({baseline:.1f}) at every pyramid level, so none is "
                "shown to help at this budget.")
    return ("below the reports' set-up (" + f"{baseline:.1f}) at every pyramid level: "
            + ", ".join(f"**{name}** ({study[name]['swd']:.1f})" for name in better) + ".")


def results(metrics: Mapping, source: str, n_images: int, device: str, label: str, path: Path) -> Markdown:
    """Notebook 04's results: the data, the distance against its floor, FID, copying, the study and the recipe's run."""
    m, copy = metrics, metrics["nearest_neighbour_rms"]
    lines = [
        f"- Data: {source} ({n_images} images at {m['config']['image_size']} × {m['config']['image_size']}).",
        f"- After {m['epochs']} epoch(s) ({m['train_seconds']:.0f} s of training on {device}), the sliced Wasserstein "
        f"distance between {m['swd_images']} generated and {m['swd_images']} real images is **{m['swd']:.1f}** (× 10³), "
        f"{m['swd'] / m['swd_floor']:.1f} times the floor of **{m['swd_floor']:.1f}** between two sets of real images.",
        "- FID: " + (f"{m['fid']:.2f} (floor {m['fid_floor']:.2f})." if m["fid"] != UNAVAILABLE else f"{UNAVAILABLE}."),
        f"- Nearest training image: a median RMS distance of {copy['generated_median_rms']:.1f} for generated "
        f"images against {copy['real_median_rms']:.1f} between real ones."]
    study = m["options_study"]
    if study:
        lines.append(f"- Options study ({m['variant_epochs']} epoch(s) each): {study_reading(study)}")
    if m["recipe_run"]:
        lines.append(f"- {label[0].upper() + label[1:]}, trained for {m['recipe_run']['epochs']} epoch(s): SWD "
                     f"**{m['recipe_run']['swd']:.1f}**, against {m['swd']:.1f} for the reports' set-up after "
                     f"{m['epochs']} (floor {m['swd_floor']:.1f}).")
    lines.append(f"- Metrics written to `{shown_path(path)}`.")
    return Markdown("\n".join(lines))


def small_data_table(runs: Mapping[str, Mapping], train_size: int, updates: int) -> pd.DataFrame:
    """One row per run of the small-data exercise: its distance to all the real images, and to its floor."""
    return pd.DataFrame({f"SWD × 10³ ({train_size} training images, {updates} updates)":
                         {k: v["swd"] for k, v in runs.items()},
                         "floor (real vs real)": {k: v["floor"] for k, v in runs.items()},
                         "times the floor": {k: v["swd"] / v["floor"] for k, v in runs.items()}}).round(2)
