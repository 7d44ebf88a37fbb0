"""Parameter sets, in one place: chosen on a notebook's page or injected by the headless runs.

- full:  the lab reports' hyperparameters (FULL);
- quick: a CPU-friendly run that still gives recognisable figures;
- smoke: seconds per notebook, for the tests.

A notebook's parameters cell starts with `profile` ("auto": full on a CUDA GPU, quick otherwise) and
leaves every parameter that a profile changes at None; `resolve` fills those with the profile's
values and keeps any value typed there. `make run-all PROFILE=...` injects `parameters(profile,
notebook)` after that cell with papermill, so every profile runs the same code.
"""
from __future__ import annotations

from typing import Any

# The full profile's value of every parameter that some profile changes: the reports' set-up. These are
# the parameters a notebook leaves at None; quick and smoke change some of them (PROFILES).
FULL: dict[str, dict[str, Any]] = {
    "01_autoencoder": {"num_epochs": 50, "train_size": None, "test_size": None, "seeds": 3},
    "02_vae": {"num_epochs": 50, "train_size": None, "test_size": None, "seeds": 3, "collapse_demo_epochs": 5,
               "exercise_epochs": 10},
    "03_evaluation": {"tsne_samples": 5000, "classifier_epochs": 4, "iwae_k": 1000, "iwae_images": 1000, "seeds": 3},
    # image_size None: the data set's own (64 px for art, 32 for MNIST).
    "04_gan": {"image_size": None, "num_epochs": 100, "train_size": None, "variant_epochs": 25, "recipe_epochs": 200,
               "swd_images": 1024, "classifier_epochs": 4, "data_fractions": (0.25, 0.5, 1.0), "exercise_epochs": 250},
}

# What each profile changes from FULL, and what papermill injects (the full profile injects nothing).
PROFILES: dict[str, dict[str, dict[str, Any]]] = {
    "full": {},
    "quick": {
        "01_autoencoder": {"num_epochs": 10},
        "02_vae": {"num_epochs": 10, "collapse_demo_epochs": 3, "exercise_epochs": 5},
        "03_evaluation": {"tsne_samples": 2000, "iwae_k": 200, "iwae_images": 500},
        # All four notebooks within 15 minutes on a 2-core CPU without native bf16 (fp32): the main run shorter
        # and the lab's recipe beside it at the same budget (the budget the recipe was chosen and measured at,
        # docs/gan_recipe.md), each distance on 512 images a set. To pay for the recipe, the options study and
        # the data sweep are off (at 3 epochs a variant they told apart nothing: the sweep's verdict was -4.7
        # [-155, 146]); `variant_epochs = 3` brings both back, the sweep on the two shares its verdict compares.
        # The worked exercise is off too (the page says what each would take).
        "04_gan": {"image_size": 32, "num_epochs": 20, "variant_epochs": 0, "recipe_epochs": 20, "swd_images": 512,
                   "data_fractions": [0.25, 1.0], "exercise_epochs": 0},
        # 937 updates an epoch, 20 times the art's: digits are clear after 2 epochs (SWD 12.3, floor 9.5).
        "04_gan_mnist": {"num_epochs": 5},
    },
    "smoke": {
        # Two seeds, so that the verdicts' bootstrap over seeds runs too.
        "01_autoencoder": {"num_epochs": 1, "train_size": 2048, "test_size": 512, "seeds": 2},
        "02_vae": {"num_epochs": 1, "train_size": 2048, "test_size": 512, "collapse_demo_epochs": 1,
                   "exercise_epochs": 1, "seeds": 2},
        "03_evaluation": {"tsne_samples": 300, "classifier_epochs": 1, "iwae_k": 10, "iwae_images": 200, "seeds": 2},
        # Two batches an epoch; the sweep's half share is one batch (a quarter would be none).
        "04_gan": {"num_epochs": 1, "train_size": 128, "image_size": 32, "variant_epochs": 1,
                   "recipe_epochs": 2,  # past the main run's last epoch, as in the full profile
                   "swd_images": 128, "classifier_epochs": 1,  # on MNIST: 03's smoke classifier
                   "data_fractions": [0.5, 1.0], "exercise_epochs": 1},  # a list: papermill writes tuples as strings
    },
}

# What 04's `main_run_only = True` sets, whatever the profile: the main run alone (exercises 2-5), no options
# study, recipe run, data sweep or exercise 1; the repeated measures follow the sweep.
MAIN_RUN_ONLY: dict[str, Any] = {"variant_epochs": 0, "recipe_epochs": 0, "data_fractions": (), "exercise_epochs": 0}

# Every profile runs headless: no progress bars in logs, and static figures where a person would move widgets.
HEADLESS = {"progress": False, "interactive": False}

# Runs beyond `make run-all`: a notebook again with other parameters, under its own name (the name of
# its executed copy and its record), on top of the profile's parameters for that notebook; a profile
# may set more under the run's name.
EXTRA_RUNS: dict[str, tuple[str, dict[str, Any]]] = {
    # Notebook 04 on MNIST, its fast option: the main run only. The options study and the recipe run
    # are about small data sets, which MNIST's 60 000 images are not. The classifier is notebook 03's.
    "04_gan_mnist": ("04_gan", {"dataset": "mnist", "variant_epochs": 0, "recipe_epochs": 0, "exercise_epochs": 0}),
}


# Wall times from scratch on the lab's reference CPU (2 cores, no native bf16: fp32), each notebook run
# alone: `make run-all` shows them before it starts until it has timed a run on the user's own device.
REFERENCE_DEVICE = "cpu (2 threads)"
REFERENCE_SECONDS: dict[str, dict[str, float]] = {
    # full: 01-03 with three seeds each, timed on 2026-12-01 on a 2-core Xeon with native bf16 (they train
    # in fp32 there too); 04 as timed on 2026-11-21 with the R1 study run (879 s), the 200-epoch options run
    # (5805 s) and the data sweep (about 1000 s) it gained since, and its second seed's two runs (about 1000 s
    # more, estimated); the GAN on MNIST: 100 epochs of 80 s.
    # quick: `make run-all PROFILE=quick` from scratch at f1465a1 on that Xeon run as an AVX2 CPU without
    # bf16 (LAB_NATIVE_BF16=0 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2), 761 s in all; 04 as
    # estimated since the recipe run replaced its options study and data sweep: the main run and the recipe
    # run, 20 epochs each at estimates' REFERENCE_COSTS, and its OTHER_SECONDS (485 s; not yet timed).
    "full": {"01_autoencoder": 490, "02_vae": 369, "03_evaluation": 321, "04_gan": 13900, "04_gan_mnist": 8000},
    "quick": {"01_autoencoder": 74, "02_vae": 77, "03_evaluation": 145, "04_gan": 485, "04_gan_mnist": 480},
    "smoke": {"01_autoencoder": 10, "02_vae": 10, "03_evaluation": 20, "04_gan": 60, "04_gan_mnist": 15},
}


def parameters(profile: str, notebook: str) -> dict[str, Any]:
    """The papermill parameters of `notebook` (its stem, e.g. "02_vae", or an EXTRA_RUNS name) under `profile`."""
    if profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}: choose one of {', '.join(PROFILES)}.")
    base, extra = EXTRA_RUNS.get(notebook, (notebook, {}))
    own = PROFILES[profile].get(notebook, {}) if base != notebook else {}
    return {"profile": profile, **HEADLESS, **PROFILES[profile].get(base, {}), **extra, **own}


def choose(profile: str, device: str = "auto") -> str:
    """The profile a notebook runs: `profile` itself, or for "auto" full on a CUDA GPU and quick otherwise.

    Says which in one line, before anything trains.
    """
    from labutils.runtime import describe_device, get_device

    if profile != "auto" and profile not in PROFILES:
        raise ValueError(f"Unknown profile {profile!r}: choose 'auto' or one of {', '.join(PROFILES)}.")
    if profile == "auto":
        used = get_device(device)
        chosen = "full" if used.type == "cuda" else "quick"
        print(f"profile: {chosen} (\"auto\" on {describe_device(used)}: full on a CUDA GPU, quick otherwise)")
        return chosen
    print(f"profile: {profile}")
    return profile


def profile_values(profile: str, notebook: str) -> dict[str, Any]:
    """The value under `profile` of every parameter that a profile changes in `notebook` (or an EXTRA_RUNS name)."""
    base, _ = EXTRA_RUNS.get(notebook, (notebook, {}))
    return {**FULL[base], **parameters(profile, notebook)}


def resolve(profile: str, notebook: str, **given: Any) -> dict[str, Any]:
    """The values in force, in the order given: each `given` value, or the profile's where it is None.

    `given` must name every parameter that some profile changes in `notebook` (FULL's names), so that
    none is forgotten. Prints them as a table, with where each came from.
    """
    needed = FULL[EXTRA_RUNS.get(notebook, (notebook, {}))[0]]
    if set(given) != set(needed):
        raise ValueError(f"{notebook}: resolve needs the parameters {', '.join(needed)}, got {', '.join(given)}.")
    values = profile_values(profile, notebook)
    in_force = {name: values[name] if value is None else value for name, value in given.items()}
    width = max(map(len, in_force))
    for name, value in in_force.items():
        source = f"{profile} profile" if given[name] is None else "set above"
        print(f"  {name:<{width}}  {value!r:<18} {source}")
    return in_force


def config_parameters(profile: str, notebook: str, config_class) -> dict[str, Any]:
    """The part of `parameters(profile, notebook)` that are fields of `config_class`.

    Notebook 03 uses it to rebuild the configs of 01 and 02 under the same profile.
    """
    from labutils.config import config_fields

    names = set(config_fields(config_class))
    return {k: v for k, v in parameters(profile, notebook).items() if k in names}
