"""labutils: the shared code of the generative-models lab.

Notebooks start with `import labutils as lab` and call into it:

    runtime   where files live, device, seed          labutils.runtime
    config    one typed dataclass per model family     labutils.config
    data      MNIST, abstract art, fast tensor loaders labutils.data
    models    AE, VAE, DCGAN, MNIST classifier          labutils.models
    training  one engine, per-family steps, recipes    labutils.training
    metrics   measurements and metrics files           labutils.metrics, labutils.image_metrics
    plots     figures                                  labutils.plots
    profiles  full / quick / smoke parameter sets      labutils.profiles
    pipeline, report, bench: `make run-all`, `make report`/`make readme`, `make bench`
"""
from __future__ import annotations

import importlib

# Names resolved on first use (PEP 562), so that `import labutils.pipeline` (the runner behind
# `make run-all`) does not load torch: its memory then stays with the notebooks' kernels.
_SUBMODULES = ("config", "data", "image_metrics", "metrics", "models", "plots", "profiles", "runtime", "training")
_NAMES = {
    "AEConfig": "labutils.config", "VAEConfig": "labutils.config",
    "TensorLoader": "labutils.data", "load_abstract_art": "labutils.data", "load_mnist": "labutils.data",
    "VAE": "labutils.models", "Autoencoder": "labutils.models",
    "data_dir": "labutils.runtime", "describe_device": "labutils.runtime", "get_device": "labutils.runtime",
    "outputs_dir": "labutils.runtime", "repo_root": "labutils.runtime", "set_seed": "labutils.runtime",
    "Trainer": "labutils.training", "train_mnist_model": "labutils.training",
    "GANConfig": "labutils.training.gan", "train_gan": "labutils.training.gan",
}
__all__ = [*_NAMES, "metrics", "plots", "profiles"]


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"labutils.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'labutils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_SUBMODULES})
