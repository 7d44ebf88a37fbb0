"""The profile chosen on a notebook's page: its parameters left at None take the profile's values, a
typed value wins, and papermill's runs get exactly the values in force they got before the choice moved
onto the page."""
import re
from pathlib import Path

import nbformat
import pytest

import labutils as lab
from labutils import profiles
from labutils.profiles import EXTRA_RUNS, FULL, PROFILES, parameters

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
RUNS = {**{stem: stem for stem in FULL}, **{name: base for name, (base, _) in EXTRA_RUNS.items()}}

# Every notebook's parameters cell as it was before the profile was chosen on the page (commit 2433cd6):
# the full profile as literals, which papermill overlaid with PROFILES[profile][run].
BEFORE = {
    "01_autoencoder": {"profile": "full", "num_epochs": 50, "latent_dim": 32, "hidden_dims": [128, 64],
                       "batch_size": 128, "lr": 1e-3, "train_size": None, "test_size": None, "seed": 0, "seeds": 3,
                       "device": "auto", "progress": True, "retrain": False, "interactive": True},
    "02_vae": {"profile": "full", "num_epochs": 50, "latent_dim": 32, "hidden_dims": [128, 64], "batch_size": 128,
               "lr": 1e-3, "beta": 1.0, "reconstruction_loss": "mse", "reconstruction_reduction": "sum",
               "train_size": None, "test_size": None, "seed": 0, "seeds": 3, "device": "auto", "progress": True,
               "retrain": False, "collapse_demo_epochs": 5, "interactive": True, "exercise_epochs": 10},
    "03_evaluation": {"profile": "full", "tsne_samples": 5000, "classifier_epochs": 4, "iwae_k": 1000,
                      "iwae_images": 1000, "seeds": 3, "seed": 0, "device": "auto", "progress": True,
                      "interactive": True},
    "04_gan": {"profile": "full", "dataset": "art", "image_size": None, "num_epochs": 100, "latent_dim": 100,
               "generator": "conv", "batch_size": 64, "lr": 2e-4, "beta1": 0.5, "train_size": None,
               "diffaugment": False, "spectral_norm": False, "ema": False, "r1_gamma": 0.0, "seed": 0,
               "device": "auto", "progress": True, "retrain": False, "interactive": True, "variant_epochs": 25,
               "recipe_epochs": 200, "swd_images": 1024, "classifier_epochs": 4,
               "data_fractions": (0.25, 0.5, 1.0), "exercise_epochs": 250},
}


def _cells(stem):
    """The notebook's parameters cell and the cell after it, which resolves them."""
    cells = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4).cells
    start = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    return cells[start].source, cells[start + 1].source


def in_force(stem, injected=None, typed=None):
    """The values in force after the cell that resolves them: the parameters cell run, then what the
    learner typed over it, then papermill's injection (a cell after the parameters cell), then that cell."""
    parameters_cell, resolve_cell = _cells(stem)
    namespace = {"lab": lab}
    exec(parameters_cell, namespace)
    namespace.update(typed or {})
    namespace.update(injected or {})
    exec(resolve_cell, namespace)
    return {name: namespace[name] for name in BEFORE[stem]}


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("run", RUNS)
def test_papermill_runs_get_the_values_in_force_they_got_before(profile, run):
    injected = parameters(profile, run)
    assert in_force(RUNS[run], injected) == {**BEFORE[RUNS[run]], **injected}


@pytest.mark.parametrize("stem", FULL)
def test_a_value_typed_on_the_page_is_used_whatever_the_profile(stem):
    name = next(iter(FULL[stem]))
    typed = {"profile": "smoke", name: 7}
    assert in_force(stem, typed=typed)[name] == 7
    untyped = next(n for n in FULL[stem] if n != name and n in PROFILES["smoke"].get(stem, {}))
    assert in_force(stem, typed=typed)[untyped] == PROFILES["smoke"][stem][untyped]


@pytest.mark.parametrize("device_type, chosen", [("cuda", "full"), ("cpu", "quick"), ("mps", "quick")])
def test_auto_is_full_on_a_cuda_gpu_and_quick_otherwise(monkeypatch, capsys, device_type, chosen):
    import torch

    monkeypatch.setattr("labutils.runtime.get_device", lambda preference="auto": torch.device(device_type))
    monkeypatch.setattr("labutils.runtime.describe_device", lambda device: device.type)
    assert profiles.choose("auto") == chosen
    assert capsys.readouterr().out.startswith(f"profile: {chosen} (")
    assert in_force("01_autoencoder")["num_epochs"] == profiles.profile_values(chosen, "01_autoencoder")["num_epochs"]


def test_an_unknown_profile_or_a_forgotten_parameter_is_refused():
    with pytest.raises(ValueError, match="Unknown profile"):
        profiles.choose("fast")
    with pytest.raises(ValueError, match="needs the parameters"):
        profiles.resolve("quick", "01_autoencoder", num_epochs=None)


def _line_comment(source, name):
    """The comment of `name`'s line in the parameters cell, with its continuation lines."""
    match = re.search(rf"^{name}\s*=[^#\n]*#(.*(?:\n\s+#.*)*)", source, re.M)
    return " ".join(part.strip().lstrip("#").strip() for part in match.group(1).split("\n"))


@pytest.mark.parametrize("stem", FULL)
def test_the_parameters_a_profile_sets_are_left_at_none_with_full_and_quick_beside_them(stem):
    parameters_cell, _ = _cells(stem)
    namespace = {}
    exec(parameters_cell, namespace)
    assert namespace["profile"] == "auto"
    left_at_none = {name for name in BEFORE[stem] if namespace[name] is None}
    assert left_at_none == set(FULL[stem]), f"{stem}: the parameters left at None should be {set(FULL[stem])}"
    for name in FULL[stem]:
        comment = _line_comment(parameters_cell, name)
        for profile in ("full", "quick"):
            value = {**FULL[stem], **PROFILES[profile].get(stem, {})}[name]
            shown = f"{profile} {value!r}" if value is not None else profile
            assert shown in comment, f"{stem}: {name}'s comment should show {shown!r}: {comment!r}"


@pytest.mark.parametrize("profile", ["full", "quick"])
def test_main_run_only_switches_off_every_section_but_the_main_run(profile):
    values = in_force("04_gan", injected={"profile": profile}, typed={"main_run_only": True, "num_epochs": 5})
    assert values["variant_epochs"] == values["recipe_epochs"] == values["exercise_epochs"] == 0
    assert tuple(values["data_fractions"]) == ()
    assert values["num_epochs"] == 5  # the main run keeps what was typed
    unasked = in_force("04_gan", injected={"profile": profile})
    # off only when asked: the recipe beside the main run, at its budget (quick) or twice it (full)
    assert unasked["recipe_epochs"] == unasked["num_epochs"] * (2 if profile == "full" else 1)
    assert (unasked["variant_epochs"] > 0) == (profile == "full")  # quick pays for the recipe with the study
