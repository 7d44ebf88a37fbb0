"""Build, train (or load) a model from its config: the one path that every notebook uses.

Notebook 03 calls the same function as 01 and 02, so a model it has to train itself is
trained exactly as theirs would have been; `evaluated_runs` picks which configs: the runs that 01 and 02
last recorded here, where their checkpoints are, else its profile's. The MNIST classifier that scores
generated digits (notebooks 03 and 04) is trained here too, by the same engine.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from labutils.config import AEConfig, VAEConfig, settings_id
from labutils.data.loaders import TensorLoader, mnist_loaders, to_unit_interval
from labutils.data.mnist import MNIST
from labutils.fingerprint import code_fingerprint
from labutils.models.autoencoder import VAE, Autoencoder
from labutils.metrics.records import read_metrics
from labutils.models.classifier import ARCHITECTURE, MNISTClassifier
from labutils.runtime import checkpoint_path, get_device, set_seed
from labutils.training.engine import History, Trainer, resolve_mixed_precision
from labutils.training.loop import evaluate, train_loop
from labutils.training.step import Step
from labutils.training.steps import AutoencoderStep, ClassifierStep, VAEStep


@dataclass
class TrainedModel:
    """A trained (or loaded) model with what made it: config, history, data loaders, step."""

    model: nn.Module
    config: AEConfig
    history: History
    checkpoint: Path
    device: torch.device
    step: Step
    train_loader: TensorLoader
    test_loader: TensorLoader
    loaded: bool = False  # True: a finished checkpoint of this config and code was loaded, nothing trained

    def evaluate(self) -> dict[str, float]:
        """The step's metrics over the whole test set, computed now (seeded, so repeatable)."""
        set_seed(self.config.seed)
        return evaluate(self.step, self.test_loader)


def default_classes(config: AEConfig) -> tuple[type, type]:
    """The package's model and step for `config`: the code of notebooks 01 and 02."""
    return (VAE, VAEStep) if isinstance(config, VAEConfig) else (Autoencoder, AutoencoderStep)


def train_mnist_model(config: AEConfig, mnist: MNIST, progress: bool = True, retrain: bool = False,
                      model_class: type | None = None, step_class: type | None = None,
                      loop: Callable = train_loop) -> TrainedModel:
    """Train the AE or VAE that `config` describes, or load its finished checkpoint.

    `model_class(input_dim, hidden_dims, latent_dim)` and `step_class(model, config)` default to the
    package's (for a `VAEConfig` a `VAE` and its `VAEStep`), `loop` to notebook 01's `train_loop`; a
    notebook passes its own, and the checkpoint is named after their code too, so edited code trains anew. Where
    no checkpoint is here and the run is published, it is downloaded (`training.published`). With `retrain`, an
    existing checkpoint of this configuration and code is deleted first, and nothing is downloaded.
    """
    defaults = default_classes(config)
    model_class, step_class = model_class or defaults[0], step_class or defaults[1]
    device = get_device(config.device)
    set_seed(config.seed)
    model = model_class(config.input_dim, config.hidden_dims, config.latent_dim).to(device)
    step = step_class(model, config)
    step.autocast_dtype = resolve_mixed_precision(config.mixed_precision, device)
    if config.compile:
        model.compile()  # in place: the state_dict keeps its plain names
    train_loader, test_loader = mnist_loaders(mnist, config, device)
    code = code_fingerprint(model_class, step_class, loop)
    path = checkpoint_path(config.run_id(code=code))
    if retrain:
        path.unlink(missing_ok=True)
    trainer = Trainer(step, train_loader, config.num_epochs, test_loader=test_loader,
                      checkpoint_path=path, config={**config.identity(), "code": code}, progress=progress, loop=loop,
                      download=not retrain)
    history = trainer.fit()
    return TrainedModel(model, config, history, path, device, step, train_loader, test_loader,
                        loaded=trainer.loaded_complete)


def train_mnist_classifier(mnist: MNIST, epochs: int = 4, device: str | torch.device = "auto", seed: int = 0,
                           progress: bool = True, batch_size: int = 128, lr: float = 1e-3) -> MNISTClassifier:
    """Train the classifier on all 60000 training images, or load the checkpoint of the same setting.

    Returns the model in eval mode on `device`; its history (test accuracy per epoch) is in
    `model.history`. Four epochs (the default of notebooks 03 and 04, which share the checkpoint)
    reach 98.9% test accuracy in 15-20 s on two CPU cores.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}.")
    device = get_device(str(device))
    settings = {"architecture": ARCHITECTURE, "epochs": epochs, "seed": seed, "batch_size": batch_size, "lr": lr}
    set_seed(seed)
    model = MNISTClassifier().to(device)
    images = lambda split: getattr(mnist, f"{split}_images")[:, None]  # (N, 28, 28) uint8 -> (N, 1, 28, 28)
    train = TensorLoader(images("train"), mnist.train_labels, batch_size=batch_size, shuffle=True,
                         transform=to_unit_interval, device=device, seed=seed)
    test = TensorLoader(images("test"), mnist.test_labels, batch_size=1000, transform=to_unit_interval,
                        device=device)
    path = checkpoint_path(settings_id("classifier", settings))
    trainer = Trainer(ClassifierStep(model, lr), train, epochs, test_loader=test,
                      checkpoint_path=path, config=settings, progress=progress)
    model.history = trainer.fit()
    return model.eval()


# Notebook 03 compares the AE and the VAE at the same layers, code size and images, and reads the VAE's
# loss as a Gaussian log-likelihood (squared error summed over the pixels).
SHARED_FIELDS = ("input_dim", "hidden_dims", "latent_dim", "train_size", "test_size")
VAE_LOSS_FIELDS = ("reconstruction_loss", "reconstruction_reduction")


@dataclass
class EvaluatedRun:
    """The run of notebook 01 or 02 that notebook 03 evaluates, and why that one."""

    config: AEConfig  # the first seed's; 03 evaluates it and the next seeds
    recorded: bool    # True: the run 01 or 02 last recorded, each seed's checkpoint here (loaded, nothing trained)
    line: str         # which run it is and why, in one line


def _epochs_and_seeds(config: AEConfig, seeds: int) -> str:
    epochs = f"{config.num_epochs} epoch{'s' if config.num_epochs != 1 else ''}"
    return f"{epochs}, " + (f"seed {config.seed}" if seeds == 1 else f"seeds {config.seed}-{config.seed + seeds - 1}")


def _recorded(notebook: str, profile: str, config: AEConfig, seeds: int) -> tuple[AEConfig | None, str, str]:
    """(the config of `notebook`'s last recorded run, its name, what it is) where 03 can load it, else
    (None, its name, why not)."""
    page = notebook[:2]
    record = read_metrics(notebook)
    if record is None or "config" not in record:
        return None, page, f"{page} recorded no run here"
    name = f"{page}'s last run, recorded {record.get('written', '?')[:16].replace('T', ' ')} UTC"
    if record.get("profile") != profile:
        return None, name, f"{name}, is the {record.get('profile')} profile's"
    try:
        run = type(config)(**{**record["config"], "device": config.device})  # 03's device
    except (TypeError, ValueError) as err:
        return None, name, f"{name}, has a config this code cannot read ({err})"
    loss = [f"{k}={getattr(run, k)!r}" for k in VAE_LOSS_FIELDS if isinstance(run, VAEConfig)
            and getattr(run, k) != getattr(config, k)]
    if loss:
        return None, name, f"{name}, uses {', '.join(loss)}: 03 reads the VAE's loss as summed squared error"
    names = record.get("checkpoints")  # each seed's, in order; an older record has each seed's scores alone
    trained = len(names) if names is not None else len(record.get("seeds") or {})
    if trained < seeds:
        return None, name, f"{name}, has {trained} seed(s)" + (f"; set seeds = {trained} above to evaluate it"
                                                               if trained else "")
    code = code_fingerprint(*default_classes(run), train_loop)  # the package's: what train_mnist_model runs
    paths = [checkpoint_path(dataclasses.replace(run, seed=run.seed + i).run_id(code=code)) for i in range(seeds)]
    if names is not None and [p.name for p in paths] != names[:seeds]:
        return None, name, (f"{name}, was trained by other code than the package's that 03 runs (edited on "
                            f"{page}'s page, or the package's before an update)")
    missing = sum(not p.exists() for p in paths)
    if missing:
        return None, name, f"{name}, has {missing} of its {seeds} checkpoints missing here"
    edits = [f"{k}={v!r}" for k, v in run.identity().items() if v != config.identity()[k]]
    edits = f"; set on its page: {', '.join(edits)}" if edits else ""
    return run, name, f"{name} ({profile} profile, {_epochs_and_seeds(run, seeds)}{edits}), " \
                      "its checkpoints here: loaded, nothing trains"


def evaluated_runs(profile: str, ae_config: AEConfig, vae_config: VAEConfig, seeds: int,
                   verbose: bool = True) -> dict[str, EvaluatedRun]:
    """Which of 01's and 02's runs notebook 03 evaluates, `seeds` seeds of each: the run each last recorded on
    this machine (its metrics file) when it ran with the same `profile`, every seed's checkpoint is here and
    the package's code trained it; else `ae_config` or `vae_config`, the profile's. Says which, a line each."""
    found = {"AE": _recorded("01_autoencoder", profile, ae_config, seeds),
             "VAE": _recorded("02_vae", profile, vae_config, seeds)}
    profile_configs = {"AE": ae_config, "VAE": vae_config}
    pair = {name: run or profile_configs[name] for name, (run, _, _) in found.items()}
    differ = [k for k in SHARED_FIELDS if getattr(pair["AE"], k) != getattr(pair["VAE"], k)]
    for name, other in (("AE", "VAE"), ("VAE", "AE")):  # a recorded run that moved away from the other falls back
        run, run_name, _ = found[name]
        changed = [k for k in differ if run and getattr(run, k) != getattr(profile_configs[name], k)]
        if changed:
            found[name] = None, run_name, (f"{run_name}, has {', '.join(f'{k}={getattr(run, k)!r}' for k in changed)}"
                                           f", not the {other}'s: 03 compares the two at the same layers and images")
    evaluated = {}
    for name, (run, _, text) in found.items():
        config = run or profile_configs[name]
        how = "" if run else f"the {profile} profile's config ({_epochs_and_seeds(config, seeds)}), as "
        evaluated[name] = EvaluatedRun(config, run is not None, f"{name}: evaluates {how}{text}")
        if verbose:
            print(evaluated[name].line)
    return evaluated
