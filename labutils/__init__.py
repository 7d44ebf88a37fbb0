"""labutils: the shared code of the generative-models lab.

Notebooks start with `import labutils as lab` and call into it. The package is built in layers;
a module imports only from the layers above it in this list (tests/test_layers.py checks it):

    runtime   where files live, device, seed, checkpoints  labutils.runtime
    config    one typed dataclass per model family, and     labutils.config
              the fingerprint of the code that trains       labutils.fingerprint
    data      MNIST, abstract art, a GAN's images, loaders  labutils.data
    models    AE, VAE, DCGAN and its sampling, classifier   labutils.models
    metrics   measurements and metrics files                labutils.metrics
    training  01's loop, the engine around it, the steps    labutils.training
    plots     figures                                       labutils.plots
    explore   figures to move by hand (ipywidgets)          labutils.explore
    summaries the notebooks' computed text and tables       labutils.summaries
    profiles  full / quick / smoke parameter sets           labutils.profiles
    estimates what a notebook's training will take, said    labutils.estimates
              before it trains

The commands behind `make` (run-all, report, readme, bench, export, fork, data) are not here: they
are `labtools`, beside this package, which imports labutils and is never imported by it.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names resolved on first use (PEP 562), so that importing one light module (labutils.runtime,
# labutils.profiles: what `make run-all`'s runner, labtools.pipeline, uses) does not load torch: a
# run's memory then stays with the notebooks' kernels.
_SUBMODULES = ("config", "data", "estimates", "explore", "metrics", "models", "plots", "profiles", "runtime",
               "summaries", "training")
_NAMES = {
    "AEConfig": "labutils.config", "VAEConfig": "labutils.config", "GANConfig": "labutils.config",
    "TensorLoader": "labutils.data", "load_abstract_art": "labutils.data", "load_mnist": "labutils.data",
    "VAE": "labutils.models", "Autoencoder": "labutils.models",
    "checkpoint_path": "labutils.runtime", "data_dir": "labutils.runtime",
    "describe_device": "labutils.runtime", "get_device": "labutils.runtime",
    "outputs_dir": "labutils.runtime", "repo_root": "labutils.runtime", "set_seed": "labutils.runtime",
    "Trainer": "labutils.training", "train_mnist_model": "labutils.training",
    "train_mnist_classifier": "labutils.training", "train_gan": "labutils.training",
}
__all__ = [  # every name above, written out so that tools read it (tests/test_layers.py checks they agree)
    "config", "data", "estimates", "explore", "metrics", "models", "plots", "profiles", "runtime", "summaries",
    "training",
    "AEConfig", "VAEConfig", "GANConfig", "TensorLoader", "load_abstract_art", "load_mnist", "VAE", "Autoencoder",
    "checkpoint_path", "data_dir", "describe_device", "get_device", "outputs_dir", "repo_root", "set_seed",
    "Trainer", "train_mnist_model", "train_mnist_classifier", "train_gan",
]

if TYPE_CHECKING:  # the same names, spelled out for editors and type checkers ("go to definition")
    from labutils import (config, data, estimates, explore, metrics, models, plots, profiles, runtime, summaries,
                          training)
    from labutils.config import AEConfig, GANConfig, VAEConfig
    from labutils.data import TensorLoader, load_abstract_art, load_mnist
    from labutils.models import VAE, Autoencoder
    from labutils.runtime import (checkpoint_path, data_dir, describe_device, get_device, outputs_dir,
                                  repo_root, set_seed)
    from labutils.training import Trainer, train_gan, train_mnist_classifier, train_mnist_model


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"labutils.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module 'labutils' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_NAMES, *_SUBMODULES})
