"""What a notebook's training will take on this device, said before it trains.

A notebook's plan is its list of training runs (`Planned`), one per checkpoint it would write, made
from the parameters in force: epochs, images, image size, seeds and which sections run. A run whose
checkpoint exists for its config and code is loaded and costs nothing, and so, counted as loaded, is one
whose checkpoint is published (`training.published`: downloaded, seconds). A run to train costs
epochs x images x pixels x the seconds per image-pixel-epoch of its family: measured from this
machine's own checkpoints where there are some (each holds its per-epoch `seconds`), else the lab's
reference CPU's (REFERENCE_COSTS). What is not training (data, evaluation, figures) is the
notebook's OTHER_SECONDS of the profile chosen.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import torch

from labutils.config import AEConfig, GANConfig, VAEConfig, settings_id
from labutils.fingerprint import code_fingerprint
from labutils.profiles import EXTRA_RUNS, FULL, MAIN_RUN_ONLY, config_parameters, profile_values
from labutils.runtime import checkpoint_path, outputs_dir
from labutils.training import published
from labutils.training.gan_options import R1_GAMMA, RECIPE, study_base, sweep_runs
from labutils.training.loop import train_loop
from labutils.training.runs import default_classes, evaluated_runs

MNIST_TRAIN = 60000
# Seconds per image per epoch per pixel (28 x 28 for MNIST's models; the GAN's S x S) on the lab's reference
# CPU: 2 cores without native bf16, so fp32, as most laptops (a 2-core Xeon run as one: LAB_NATIVE_BF16=0
# ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2), from the quick profile's fresh run at commit f1465a1:
# each family's checkpoints' summed `seconds` over their images x epochs (AE 1.55 s, VAE 1.50 s, classifier
# 5.10 s per epoch of 60000 digits; the GAN's 8 runs on the gallery at 32 px, 377 s in all, 9.19 s per
# epoch of 2816 images on average). CPUs with native bf16 train the GAN about 2.2x faster.
REFERENCE_COSTS = {"autoencoder": 1.55 / MNIST_TRAIN / 784, "vae": 1.50 / MNIST_TRAIN / 784,
                   "classifier": 5.10 / MNIST_TRAIN / 784, "gan": 9.19 / 2816 / (32 * 32)}
# Seconds a notebook spends beside training (data, evaluation, figures, verdicts) on that CPU, by profile:
# quick's is that run less its training (01 74 - 62 s, 02 77 - 61, 03 145 - 20, 04 464 - 377; 04 on MNIST
# 53 s with its run loaded, at e597a60, natively); smoke's the smoke run's (9, 11, 20 and 29 s at 9e2e5c0,
# training 1-3 s of each); full's the quick run's (a lower bound: 03's IWAE and 04's measures grow with
# their samples); 04's quick value 23 s more, estimated and not yet timed: the data sweep's second seed's
# repeated measures (13 s, at about 1 s a measure in a quick run at 38bd430, natively) and the 16 000 more
# images that the repeats generate from fresh noise (10 s).
OTHER_SECONDS = {
    "quick": {"01_autoencoder": 12, "02_vae": 16, "03_evaluation": 125, "04_gan": 110, "04_gan_mnist": 53},
    "smoke": {"01_autoencoder": 8, "02_vae": 10, "03_evaluation": 20, "04_gan": 26, "04_gan_mnist": 15},
}
OTHER_SECONDS["full"] = OTHER_SECONDS["quick"]
# A run that trained for less is mostly set-up (a smoke run's): it would overstate an epoch's cost.
MIN_SECONDS = 5.0


@dataclass
class Planned:
    """One training run a notebook will make: its section, size, and checkpoint (loaded if it exists, or
    downloaded if it is published)."""

    section: str
    family: str        # "autoencoder", "vae", "classifier", "gan": whose cost per image it takes
    epochs: int
    images: int        # training images per epoch
    pixels: int        # values per image
    checkpoint: Path

    @property
    def loaded(self) -> bool:
        return self.checkpoint.exists() or published.published(self.checkpoint.stem) is not None

    def training_seconds(self, costs: dict[str, float]) -> float:
        """What training it takes, trained before or not."""
        return self.epochs * self.images * self.pixels * costs[self.family]

    def seconds(self, costs: dict[str, float]) -> float:
        return 0.0 if self.loaded else self.training_seconds(costs)


def measured_costs(directory: Path | None = None, newest: int = 8) -> dict[str, float]:
    """Seconds per image-pixel-epoch of each family, from the `newest` checkpoints of each in `directory`
    (this machine's outputs/checkpoints); REFERENCE_COSTS for a family without any."""
    directory = directory or outputs_dir("checkpoints")
    costs = dict(REFERENCE_COSTS)
    for family in costs:
        paths = sorted(directory.glob(f"{family}-*.pt"), key=lambda p: p.stat().st_mtime)[-newest:]
        seconds = work = 0.0
        for path in paths:
            try:
                state = torch.load(path, map_location="cpu", weights_only=False)
                epochs, iterations = state["history"]["epochs"], state["history"]["iterations"]
                batches = len(next(iter(iterations.values()), []))
                if sum(row["seconds"] for row in epochs) < MIN_SECONDS:
                    continue
                seconds += sum(row["seconds"] for row in epochs)  # `iterations` holds every batch of every epoch
                work += batches * state["config"]["batch_size"] * _pixels(state["config"], family)
            except (OSError, EOFError, pickle.UnpicklingError, KeyError, RuntimeError, StopIteration, TypeError):
                continue  # a partial or older checkpoint says nothing about speed
        if seconds > 0 and work > 0:
            costs[family] = seconds / work
    return costs


def _pixels(config: dict[str, Any], family: str) -> int:
    # A GAN's cost grows with its image's area; its colour channels change only the first and last layers.
    return config["image_size"] ** 2 if family == "gan" else 784


def _mnist_runs(section: str, config: AEConfig, seeds: Iterable[int], code: str) -> list[Planned]:
    family = "vae" if isinstance(config, VAEConfig) else "autoencoder"
    images = config.train_size or MNIST_TRAIN
    return [Planned(section if len(list(seeds)) == 1 else f"{section}, seed {seed}", family, config.num_epochs,
                    images, 784, checkpoint_path(dataclasses.replace(config, seed=seed).run_id(code=code)))
            for seed in seeds]


def _classifier(epochs: int, seed: int) -> Planned:
    # The settings train_mnist_classifier names its checkpoint after (its defaults).
    from labutils.models.classifier import ARCHITECTURE
    settings = {"architecture": ARCHITECTURE, "epochs": epochs, "seed": seed, "batch_size": 128, "lr": 1e-3}
    return Planned("MNIST classifier", "classifier", epochs, MNIST_TRAIN, 784,
                   checkpoint_path(settings_id("classifier", settings)))


def plan_mnist(notebook: str, values: dict[str, Any], config: AEConfig, code: str) -> list[Planned]:
    """Notebook 01's or 02's runs under `values` (its parameters in force), `config` its config."""
    config = dataclasses.replace(config, num_epochs=values["num_epochs"], train_size=values["train_size"],
                                 test_size=values["test_size"])
    seeds = range(config.seed, config.seed + values["seeds"])
    plan = _mnist_runs("main run", config, [config.seed], code) + _mnist_runs("seeds", config, seeds[1:], code)
    if notebook == "02_vae":
        for reduction in ("sum", "mean"):
            demo = dataclasses.replace(config, num_epochs=values["collapse_demo_epochs"],
                                       reconstruction_reduction=reduction)
            plan += _mnist_runs(f"collapse demo, {reduction}", demo, [config.seed], code)
        small = dataclasses.replace(config, latent_dim=2, num_epochs=values["exercise_epochs"])
    else:
        small = dataclasses.replace(config, latent_dim=2)
    return plan + _mnist_runs("exercise, latent_dim 2", small, [config.seed], code)


def plan_evaluation(values: dict[str, Any], ae_config: AEConfig, vae_config: VAEConfig) -> list[Planned]:
    """Notebook 03's runs: `seeds` of 01's AE and of 02's VAE from the configs it evaluates (the runs they
    recorded or the profile's, `training.runs.evaluated_runs`), with the package's code; and the classifier."""
    plan = []
    for name, config in (("01's AE", ae_config), ("02's VAE", vae_config)):
        code = code_fingerprint(*default_classes(config), train_loop)
        plan += _mnist_runs(name, config, range(config.seed, config.seed + values["seeds"]), code)
    return plan + [_classifier(values["classifier_epochs"], ae_config.seed)]


def plan_gan(values: dict[str, Any], config: GANConfig, code: str, images: int) -> list[Planned]:
    """Notebook 04's runs: the main run, the options study, the data sweep, the recipe run, the exercise.
    `images`: the whole data set's size (before `train_size`); `code`: the notebook's `GANParts.fingerprint()`."""
    config = config.replace(num_epochs=values["num_epochs"], train_size=values["train_size"],
                            image_size=values["image_size"] or config.image_size)
    pixels = config.image_size ** 2
    n = min(images, config.train_size or images)

    def run(section: str, c: GANConfig, count: int = n) -> Planned:
        return Planned(section, "gan", c.num_epochs, count, c.image_size ** 2,
                       checkpoint_path(c.run_id(code=code)))

    plan = [run("main run", config)]
    variant_epochs = values["variant_epochs"]
    if variant_epochs:  # five trained variants; "+ EMA" and "+ DiffAugment + EMA" sample two of them
        base = study_base(config, variant_epochs)
        for changes in ({}, {"generator": "mlp"}, {"diffaugment": True}, {"spectral_norm": True},
                        {"r1_gamma": R1_GAMMA}):
            plan.append(run("options study", base.replace(**changes)))
        for fraction, k in sweep_runs(values["data_fractions"]):
            if fraction == 1 and k == 0:  # the whole set's first run is the study's
                continue
            share = n if fraction == 1 else max(config.batch_size, round(fraction * n))
            sweep = study_base(config, max(1, round(variant_epochs / fraction)))
            sweep = sweep.replace(seed=sweep.seed + k, **({"train_size": share} if fraction < 1 else {}))
            plan.append(run("data sweep", sweep, share))
    if values["recipe_epochs"]:
        plan.append(run("recipe run", config.replace(**RECIPE, num_epochs=values["recipe_epochs"])))
    if values["exercise_epochs"]:  # a tenth of every image, at 32 px
        few = config.replace(image_size=32, train_size=images // 10, num_epochs=values["exercise_epochs"])
        plan += [run("exercise", few.replace(diffaugment=d), images // 10) for d in (False, True)]
    if config.dataset == "mnist":  # the digit classifier that scores its samples (03's)
        plan.append(_classifier(values["classifier_epochs"], config.seed))
    assert all(p.pixels == pixels for p in plan if p.family == "gan" and p.section != "exercise")
    return plan


def total_seconds(plan: list[Planned], notebook: str, profile: str, costs: dict[str, float]) -> float:
    """The plan's training seconds plus what the notebook does beside training under `profile`."""
    return sum(p.seconds(costs) for p in plan) + OTHER_SECONDS[profile][notebook]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


def table(plan: list[Planned], notebook: str, profile: str, costs: dict[str, float]) -> list[str]:
    """One line per section (runs, of them loaded, epochs, estimate), then the total."""
    sections: dict[str, list[Planned]] = {}
    for p in plan:
        sections.setdefault(p.section.split(",")[0], []).append(p)
    lines = [f"  {'section':<22}{'runs':>5}{'loaded':>8}{'epochs':>8}{'estimate':>10}"]
    for section, runs in sections.items():
        epochs = sorted({p.epochs for p in runs})
        lines.append(f"  {section:<22}{len(runs):>5}{sum(p.loaded for p in runs):>8}"
                     f"{'/'.join(map(str, epochs)):>8}{_duration(sum(p.seconds(costs) for p in runs)):>10}")
    other = OTHER_SECONDS[profile][notebook]
    lines.append(f"  {'beside training':<43}{_duration(other):>10}")
    lines.append(f"  {'total':<43}{_duration(total_seconds(plan, notebook, profile, costs)):>10}")
    return lines


def show(notebook: str, profile: str, in_force: dict[str, Any], plan_of, costs: dict[str, float] | None = None,
         ) -> tuple[float, float]:
    """Print what `plan_of(values)` (a notebook's plan for the given parameter values) will take with the
    values in force, and what the quick profile would take. Returns both totals in seconds."""
    costs = costs or measured_costs()
    here = [family for family in costs if costs[family] != REFERENCE_COSTS[family]]
    source = ("this machine's runs" if len(here) == len(costs) else "the lab's reference CPU (2 cores)" if not here
              else f"this machine's runs ({', '.join(here)}), else the lab's reference CPU")
    plan = plan_of(in_force)
    now = total_seconds(plan, notebook, profile, costs)
    print(f"estimate on this device, {profile} profile (costs per image from {source}):")
    print("\n".join(table(plan, notebook, profile, costs)))
    quick_values = _quick_values(notebook)
    quick = total_seconds(plan_of(quick_values), notebook, "quick", costs)
    same = profile == "quick" and all(in_force[name] == quick_values[name] for name in quick_values)
    print(f"profile quick would take {_duration(quick)}" + (" (these values)" if same else ""))
    return now, quick


def _quick_values(notebook: str) -> dict[str, Any]:
    """The quick profile's value of every parameter that a profile changes in `notebook`."""
    values = profile_values("quick", notebook)
    return {name: values[name] for name in FULL[EXTRA_RUNS.get(notebook, (notebook, {}))[0]]}


# One call per notebook, each with what its page has defined by its first training.
def show_mnist(notebook: str, profile: str, in_force: dict[str, Any], config: AEConfig, *code: Any
               ) -> tuple[float, float]:
    """01's or 02's estimate; `code`: the model class, step class and loop the notebook trains with."""
    fingerprint = code_fingerprint(*code)
    return show(notebook, profile, in_force, lambda values: plan_mnist(notebook, values, config, fingerprint))


def show_evaluation(profile: str, in_force: dict[str, Any], ae_config: AEConfig, vae_config: VAEConfig
                    ) -> tuple[float, float]:
    """03's estimate for the configs it evaluates (`evaluated_runs`' choice: a recorded run is loaded and costs
    nothing); under quick, the runs the quick profile would evaluate, chosen the same way."""
    def plan_of(values: dict[str, Any]) -> list[Planned]:
        if values is in_force:
            return plan_evaluation(values, ae_config, vae_config)
        quick = [cls(**config_parameters("quick", notebook, cls), device=ae_config.device)
                 for cls, notebook in ((AEConfig, "01_autoencoder"), (VAEConfig, "02_vae"))]
        chosen = evaluated_runs("quick", *quick, values["seeds"], verbose=False)
        return plan_evaluation(values, chosen["AE"].config, chosen["VAE"].config)
    costs = measured_costs()
    totals = show("03_evaluation", profile, in_force, plan_of, costs)
    missing: dict[str, list[Planned]] = {}  # a fresh runtime (Colab, Kaggle): 01's and 02's runs train here first
    for p in plan_of(in_force):
        if not p.loaded and p.family != "classifier":
            missing.setdefault(p.section.split(",")[0], []).append(p)
    for model, runs in missing.items():
        epochs = f"{runs[0].epochs} epoch{'s' if runs[0].epochs != 1 else ''}"
        print(f"not found here, so trained first: {model}, {len(runs)} of its {in_force['seeds']} seed(s), "
              f"{epochs} each, about {_duration(sum(p.seconds(costs) for p in runs))}")
    return totals


def _gan_plan_of(config: GANConfig, parts: Any, images: int):
    """04's notebook name and its plan as a function of parameter values; `images`: how many the page loaded."""
    from labutils.data.gan_data import load_gan_data

    notebook = "04_gan_mnist" if config.dataset == "mnist" else "04_gan"
    if config.train_size is not None:  # the whole set: quick's main run and every exercise use it (cached, fast)
        with contextlib.redirect_stdout(io.StringIO()):  # its source was said when the page loaded it
            images = len(load_gan_data(config.replace(image_size=32, train_size=None)).images)
    fingerprint = parts.fingerprint()
    return notebook, lambda values, c=config: plan_gan(values, c, fingerprint, images)


def show_gan(profile: str, in_force: dict[str, Any], config: GANConfig, parts: Any, images: int) -> tuple[float, float]:
    """04's estimate; `parts` the notebook's GANParts, `images` how many it loaded (its first `train_size`)."""
    notebook, plan_of = _gan_plan_of(config, parts, images)
    return show(notebook, profile, in_force, plan_of)


# Exercise 1's budget where the profile leaves it off (quick): enough updates on a tenth of the images to compare.
EXERCISE_TRY_EPOCHS = 50


def show_exercises(in_force: dict[str, Any], config: GANConfig, parts: Any, images: int) -> dict[str, float]:
    """What each of 04's exercises retrains and takes: here, with the values in force, and under the quick
    profile on the lab's reference CPU. Exercises 2-5 train the main run alone (`main_run_only`); exercise 1
    its two small runs. Returns the seconds here by exercise."""
    notebook, plan_of = _gan_plan_of(config, parts, images)
    quick = _quick_values(notebook)
    costs = measured_costs()
    exercises = {  # what each changes: its training runs, with the values in force and with quick's
        "1  exercise_epochs = N, nothing else": lambda v: [p for p in plan_of(
            {**v, **MAIN_RUN_ONLY, "exercise_epochs": v["exercise_epochs"] or EXERCISE_TRY_EPOCHS})
            if p.section == "exercise"],
        '2  generator = "mlp", main_run_only = True': lambda v: plan_of(
            {**v, **MAIN_RUN_ONLY}, config.replace(generator="mlp")),
        "3-5  an edited loss or update, or beta1, main_run_only = True": lambda v: plan_of({**v, **MAIN_RUN_ONLY}),
    }
    print(f"{'exercise':<64}{'retrains':>14}{'here':>10}{'quick, 2-core CPU':>19}")
    here = {}
    for exercise, runs in exercises.items():
        mine, reference = runs(in_force), runs(quick)
        here[exercise] = sum(p.training_seconds(costs) for p in mine)  # each trains anew: a changed config or code
        what = f"{len(mine)} run(s), {mine[0].epochs} ep." if mine else "nothing"
        print(f"{exercise:<64}{what:>14}{_duration(here[exercise]):>10}"
              f"{_duration(sum(p.training_seconds(REFERENCE_COSTS) for p in reference)):>19}")
    return here
