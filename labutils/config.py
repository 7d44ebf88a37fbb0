"""Typed configs: one dataclass per model family, each field with its meaning and default.

The defaults are the lab reports' hyperparameters (`../shared/reports/`), and each notebook's
parameters cell maps one-to-one onto these fields. Invalid values are refused when the
config is built, before any data is loaded or any training starts.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

# Fields that change where or how fast a run happens, not what it computes.
_NOT_IDENTIFYING = {"device", "mixed_precision", "compile"}
MIXED_PRECISION = ("auto", "bf16", "off")


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


class RunConfig:
    """What every model family's config shares: its dict, its identity and its run id."""

    family: ClassVar[str]
    # Fields added after runs of the family were saved, with the value at which they compute what
    # those runs computed: left out of the identity at that value, so their checkpoints stay valid.
    added_later: ClassVar[dict[str, Any]] = {}

    def to_dict(self) -> dict:
        return asdict(self)

    def identity(self) -> dict:
        """The fields that decide what a run computes (all but device, mixed precision and compile)."""
        return {k: v for k, v in self.to_dict().items()
                if k not in _NOT_IDENTIFYING and not (k in self.added_later and v == self.added_later[k])}

    def run_id(self) -> str:
        """A short name for this configuration: the family and a hash of its identity.

        Checkpoints are stored under it, so changing any hyperparameter trains anew instead
        of loading a model that was trained differently.
        """
        digest = hashlib.sha1(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:8]
        return f"{self.family}-{digest}"


@dataclass
class AEConfig(RunConfig):
    """Fully connected autoencoder on MNIST (report: 784-128-64-32, Adam 1e-3, batch 128, 50 epochs)."""

    family: ClassVar[str] = "autoencoder"

    input_dim: int = 784                # pixels per image (28 x 28)
    hidden_dims: tuple[int, ...] = (128, 64)  # encoder widths; the decoder mirrors them
    latent_dim: int = 32                # size of the code z
    batch_size: int = 128               # images per optimiser step
    lr: float = 1e-3                    # Adam learning rate
    num_epochs: int = 50                # passes over the training set
    train_size: int | None = None       # first N training images (None: all 60000)
    test_size: int | None = None        # first N test images (None: all 10000)
    seed: int = 0                       # seeds weights, batch order and sampling
    device: str = "auto"                # "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "mps"
    mixed_precision: str = "auto"       # "auto": bf16 autocast on CUDA GPUs that support it; "bf16"; "off"
    compile: bool = False               # torch.compile the model (faster epochs on GPU after a warm-up)

    def __post_init__(self):
        _require(self.mixed_precision in MIXED_PRECISION,
                 f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}.")
        self.hidden_dims = tuple(int(h) for h in self.hidden_dims)
        _require(self.num_epochs >= 1, f"num_epochs must be >= 1, got {self.num_epochs}.")
        _require(self.latent_dim >= 1, f"latent_dim must be >= 1, got {self.latent_dim}.")
        _require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}.")
        _require(self.lr > 0, f"lr must be > 0, got {self.lr}.")
        _require(all(h >= 1 for h in self.hidden_dims), f"hidden_dims must be positive, got {self.hidden_dims}.")
        for name in ("train_size", "test_size"):
            value = getattr(self, name)
            _require(value is None or value >= 1, f"{name} must be None (all) or >= 1, got {value}.")
        # Resolving the device now refuses an unknown one before training starts.
        from labutils.runtime import get_device
        get_device(self.device)


@dataclass
class VAEConfig(AEConfig):
    """Variational autoencoder (Kingma & Welling 2014): the AE's layers, a Gaussian latent, loss recon + beta*KL."""

    family: ClassVar[str] = "vae"

    reconstruction_loss: str = "mse"    # "mse" (report) or "bce" (Bernoulli decoder, Kingma & Welling)
    reconstruction_reduction: str = "sum"  # "sum" over the 784 pixels of an image, or "mean" (collapses KL; see 02)
    beta: float = 1.0                   # weight of the KL term (beta-VAE when != 1)

    def __post_init__(self):
        super().__post_init__()
        _require(self.reconstruction_loss in ("mse", "bce"),
                 f"reconstruction_loss must be 'mse' or 'bce', got {self.reconstruction_loss!r}.")
        _require(self.reconstruction_reduction in ("sum", "mean"),
                 f"reconstruction_reduction must be 'sum' or 'mean', got {self.reconstruction_reduction!r}.")
        _require(self.beta >= 0, f"beta must be >= 0, got {self.beta}.")


def config_fields(config_class) -> list[str]:
    """The field names of a config class: the names a notebook's parameters cell may use."""
    return [f.name for f in fields(config_class)]
