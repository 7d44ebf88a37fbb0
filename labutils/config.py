"""Typed configs: one dataclass per model family, each field with its meaning and default.

The defaults are the hyperparameters of the lab reports the lab implements (the README names
them), and each notebook's parameters cell maps one-to-one onto these fields. Invalid values
are refused when the config is built, before any data is loaded or any training starts.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from labutils.runtime import get_device

# Fields that change where or how fast a run happens, or how it is watched, not what it trains.
_NOT_IDENTIFYING = {"device", "mixed_precision", "compile", "swd_every", "swd_train_images"}
MIXED_PRECISION = ("auto", "bf16", "off")

GAN_DATASETS = ("art", "mnist")
GAN_LOSSES = ("bce", "relativistic")  # bce: the reports'; relativistic: RpGAN (R3GAN, Huang et al. 2024)
GAN_IMAGE_SIZES = (32, 64, 128)  # powers of two from 32 to 128: the networks pass through 4 x 4
MNIST_PADDED_SIZE = 32  # 28 x 28 digits padded with background to 32 x 32, the smallest GAN size
# A data set's own image size, where the config names none: the reports' 64 px for art; 32 px for the
# 28 px digits (64 px would only upsample them, at ~5x the cost per update: 0.48 s against 0.09 s on
# the 2-core CPU).
DEFAULT_IMAGE_SIZE = {"art": 64, "mnist": MNIST_PADDED_SIZE}
# The parts a DiffAugment policy may name (`training.diffaugment.AUGMENTATIONS` implements them).
DIFFAUGMENT_PARTS = ("color", "translation", "cutout")


def settings_id(family: str, settings: dict[str, Any]) -> str:
    """`<family>-<hash of settings>`: the name a run's checkpoint is stored under."""
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return f"{family}-{digest}"


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
        """The fields that decide what a run trains (all but device, mixed precision, compile and the
        GAN's in-training distance, which reads the generator and draws no random numbers of training's)."""
        return {k: v for k, v in self.to_dict().items()
                if k not in _NOT_IDENTIFYING and not (k in self.added_later and v == self.added_later[k])}

    def run_id(self, code: str = "") -> str:
        """A short name for this configuration: the family and a hash of its identity, and of the
        code that trains it when `code` (a `fingerprint.code_fingerprint`) is given.

        Checkpoints are stored under it, so changing any hyperparameter, or the code, trains anew
        instead of loading a model that was trained differently.
        """
        return settings_id(self.family, {**self.identity(), **({"code": code} if code else {})})


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
    mixed_precision: str = "auto"       # "auto": bf16 autocast on CUDA GPUs with native bf16 (8.0 on); "bf16"; "off"
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
        get_device(self.device)  # refuses an unknown or missing device now, before training


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


@dataclass
class GANConfig(RunConfig):
    """DCGAN on abstract art (reports: z of 100, BCE, Adam 2e-4 (0.5, 0.999), batch 64, 100 epochs).

    Options, off by default, go beyond the reports; `training.gan` says what each one does.
    """

    family: ClassVar[str] = "gan"
    added_later: ClassVar[dict[str, Any]] = {"r1_gamma": 0.0, "r1_every": 1, "loss": "bce", "r2_gamma": 0.0,
                                             "d_batchnorm": True}

    dataset: str = "art"                # "art" (Abstract Art Gallery, else its stand-in) or "mnist" (fast option)
    image_size: int | None = None       # images are S x S, S in 32, 64, 128 (None: DEFAULT_IMAGE_SIZE[dataset])
    latent_dim: int = 100               # size of the noise vector z
    generator: str = "conv"             # "conv" (DCGAN transposed convolutions) or "mlp" (100 -> 256 -> 512 -> image)
    g_width: int = 64                   # conv generator: channels of its last hidden layer, doubled per stage to 4 x 4
    d_width: int = 64                   # discriminator: channels of its first layer, doubled per stage to 4 x 4
    g_hidden_dims: tuple[int, ...] = (256, 512)  # mlp generator: hidden widths (the reports' 256, 512)
    extra_layers: int = 0               # 3 x 3 conv layers at the largest hidden resolution, in G and D
    batch_size: int = 64                # images per update of each player
    lr: float = 2e-4                    # Adam learning rate, both players
    beta1: float = 0.5                  # Adam beta1 (DCGAN lowers it from 0.9 for stability)
    beta2: float = 0.999                # Adam beta2
    num_epochs: int = 100               # passes over the training images
    train_size: int | None = None       # first N training images (None: all)
    diffaugment: bool = False           # DiffAugment on every image D sees (Zhao et al. 2020)
    # Which DiffAugment transforms, in order. Not the paper's "color,translation,cutout": on the stand-in
    # art (32 px, 100 epochs, with EMA) cutout gave a worse final SWD (68 against 49 without it).
    diffaugment_policy: str = "color,translation"
    spectral_norm: bool = False         # spectral normalisation in D, in place of its BatchNorm (Miyato et al. 2018)
    d_batchnorm: bool = True            # BatchNorm inside D (DCGAN); False: a normalisation-free D (R3GAN)
    loss: str = "bce"                   # "bce" (reports: BCE, non-saturating G) or "relativistic" (RpGAN pairs, R3GAN)
    ema: bool = False                   # sample from an exponential moving average of G's weights
    ema_decay: float = 0.999            # EMA decay per generator update (with a warm-up, see `ema_decay_at`)
    r1_gamma: float = 0.0               # R1 penalty (gamma/2) |grad_x D(x)|^2 on real images (Mescheder et al. 2018); 0: off
    r2_gamma: float = 0.0               # R2: the same penalty on generated images (R3GAN: R1 + R2); 0: off
    r1_every: int = 1                   # R1 and R2 on every Nth D update only, scaled by N ("lazy", Karras et al. 2020): cheaper
    swd_every: int = 5                  # sliced Wasserstein distance during training every N epochs, and at the first and last (0: never)
    swd_train_images: int = 512         # images per set for that in-training distance (a small, cheap sample)
    seed: int = 0                       # seeds weights, batch order, noise and augmentation
    device: str = "auto"                # "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "mps"
    mixed_precision: str = "auto"       # "auto": bf16 autocast where the GPU (8.0 on) or CPU has it natively; "bf16"; "off"
    compile: bool = False               # torch.compile G and D (faster epochs on GPU after a warm-up)

    def __post_init__(self):
        _require(self.mixed_precision in MIXED_PRECISION,
                 f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}.")
        self.g_hidden_dims = tuple(int(h) for h in self.g_hidden_dims)
        _require(self.dataset in GAN_DATASETS, f"dataset must be one of {GAN_DATASETS}, got {self.dataset!r}.")
        if self.image_size is None:
            self.image_size = DEFAULT_IMAGE_SIZE[self.dataset]
        _require(self.image_size in GAN_IMAGE_SIZES,
                 f"image_size must be a power of two from 32 to 128 {GAN_IMAGE_SIZES}, got {self.image_size}.")
        _require(self.generator in ("conv", "mlp"), f"generator must be 'conv' or 'mlp', got {self.generator!r}.")
        for name in ("latent_dim", "g_width", "d_width", "batch_size", "num_epochs", "swd_train_images", "r1_every"):
            _require(getattr(self, name) >= 1, f"{name} must be >= 1, got {getattr(self, name)}.")
        _require(self.batch_size >= 2, f"batch_size must be >= 2 (BatchNorm needs two images), got {self.batch_size}.")
        _require(self.extra_layers >= 0, f"extra_layers must be >= 0, got {self.extra_layers}.")
        _require(all(h >= 1 for h in self.g_hidden_dims), f"g_hidden_dims must be positive, got {self.g_hidden_dims}.")
        _require(self.lr > 0, f"lr must be > 0, got {self.lr}.")
        for name in ("beta1", "beta2"):
            _require(0 <= getattr(self, name) < 1, f"{name} must be in [0, 1), got {getattr(self, name)}.")
        _require(0 < self.ema_decay < 1, f"ema_decay must be in (0, 1), got {self.ema_decay}.")
        for name in ("r1_gamma", "r2_gamma"):
            _require(getattr(self, name) >= 0, f"{name} must be >= 0 (0: off), got {getattr(self, name)}.")
        _require(not ((self.r1_gamma or self.r2_gamma) and self.compile),
                 "r1_gamma and r2_gamma need the gradient of D's gradient, which torch.compile does not provide: "
                 "set compile=False, or both to 0.")
        _require(self.loss in GAN_LOSSES, f"loss must be one of {GAN_LOSSES}, got {self.loss!r}.")
        _require(self.swd_every >= 0, f"swd_every must be >= 0 (0: never), got {self.swd_every}.")
        _require(self.train_size is None or self.train_size >= self.batch_size,
                 f"train_size must be None (all) or >= batch_size ({self.batch_size}), got {self.train_size}.")
        unknown = [p for p in self.diffaugment_policy.split(",") if p and p not in DIFFAUGMENT_PARTS]
        _require(not unknown, f"diffaugment_policy has unknown parts {unknown}; choose from {list(DIFFAUGMENT_PARTS)}.")
        get_device(self.device)  # refuses an unknown or missing device now, before training

    @property
    def channels(self) -> int:
        return 1 if self.dataset == "mnist" else 3

    def replace(self, **changes: Any) -> "GANConfig":
        """A copy with some fields changed (and validated), e.g. `config.replace(ema=True)`."""
        return GANConfig(**{**self.to_dict(), **changes})


def config_fields(config_class) -> list[str]:
    """The field names of a config class: the names a notebook's parameters cell may use."""
    return [f.name for f in fields(config_class)]
