"""Build, train (or load) a model from its config: the one path that every notebook uses.

Notebook 03 calls the same function as 01 and 02, so a model it has to train itself is
trained exactly as theirs would have been.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from labutils.config import AEConfig, VAEConfig
from labutils.data.loaders import TensorLoader, to_unit_interval
from labutils.data.mnist import MNIST
from labutils.models.autoencoder import VAE, Autoencoder
from labutils.runtime import get_device, outputs_dir, set_seed
from labutils.training.engine import History, Step, Trainer, evaluate, resolve_mixed_precision
from labutils.training.steps import AutoencoderStep, VAEStep

EVAL_BATCH_SIZE = 1000


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

    def evaluate(self) -> dict[str, float]:
        """The step's metrics over the whole test set, computed now (seeded, so repeatable)."""
        set_seed(self.config.seed)
        return evaluate(self.step, self.test_loader)


def checkpoint_path(config: AEConfig) -> Path:
    """Where the checkpoint of exactly this configuration lives."""
    return outputs_dir("checkpoints") / f"{config.run_id()}.pt"


def mnist_subset(mnist: MNIST, config: AEConfig, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of `split` that a model of `config` sees: the first train_size / test_size."""
    images, labels = (mnist.train_images, mnist.train_labels) if split == "train" else (mnist.test_images, mnist.test_labels)
    n = (config.train_size if split == "train" else config.test_size) or len(images)
    return images[:n], labels[:n]


def mnist_loaders(mnist: MNIST, config: AEConfig, device: torch.device) -> tuple[TensorLoader, TensorLoader]:
    """Shuffled training batches and ordered test batches, resident on `device`, pixels in [0, 1]."""
    train = TensorLoader(*mnist_subset(mnist, config, "train"), batch_size=config.batch_size,
                         shuffle=True, transform=to_unit_interval, device=device, seed=config.seed)
    test = TensorLoader(*mnist_subset(mnist, config, "test"), batch_size=EVAL_BATCH_SIZE,
                        transform=to_unit_interval, device=device)
    return train, test


def train_mnist_model(config: AEConfig, mnist: MNIST, progress: bool = True, retrain: bool = False) -> TrainedModel:
    """Train the AE or VAE that `config` describes, or load its finished checkpoint.

    A `VAEConfig` gives a `VAE`, an `AEConfig` an `Autoencoder`. With `retrain`, an existing
    checkpoint of this configuration is deleted first.
    """
    device = get_device(config.device)
    set_seed(config.seed)
    layers = dict(input_dim=config.input_dim, hidden_dims=config.hidden_dims, latent_dim=config.latent_dim)
    if isinstance(config, VAEConfig):
        model = VAE(**layers).to(device)
        step = VAEStep(model, config.lr, config.beta, config.reconstruction_loss, config.reconstruction_reduction)
    else:
        model = Autoencoder(**layers).to(device)
        step = AutoencoderStep(model, config.lr)
    step.autocast_dtype = resolve_mixed_precision(config.mixed_precision, device)
    if config.compile:
        model.compile()  # in place: the state_dict keeps its plain names
    train_loader, test_loader = mnist_loaders(mnist, config, device)
    path = checkpoint_path(config)
    if retrain:
        path.unlink(missing_ok=True)
    trainer = Trainer(step, train_loader, config.num_epochs, test_loader=test_loader,
                      checkpoint_path=path, config=config.identity(), progress=progress)
    history = trainer.fit()
    return TrainedModel(model, config, history, path, device, step, train_loader, test_loader)
