"""The GAN: its config, its training step for the lab's engine, and the train-or-load recipe.

The default run is the lab reports' set-up (DCGAN, Radford et al. 2016): binary cross-entropy
for both players, Adam with lr 2e-4 and betas (0.5, 0.999) for both, batch 64, 100 epochs,
images in [-1, 1], one discriminator update then one generator update per batch.

Four options, off by default, go beyond the reports:
- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): the same random, differentiable colour / translation / cutout changes applied to
  every image the discriminator sees, real and generated, so it cannot memorise a small data set;
- spectral normalisation of the discriminator (Miyato et al. 2018);
- an exponential moving average of the generator's weights, sampled instead of the generator
  itself (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training");
- the R1 penalty, (gamma / 2) * |grad_x D(x)|^2 on real images, added to D's loss (Mescheder et al.
  2018, "Which Training Methods for GANs do actually Converge?"): D's answer may not change steeply
  around the real images, which damps the game's oscillation and keeps D from winning on detail.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from labutils.config import MIXED_PRECISION, RunConfig, _require
from labutils.data.loaders import (TensorLoader, compose, random_horizontal_flip, to_channels_last,
                                   to_signed_unit_interval)
from labutils.image_metrics import patch_descriptors, swd_from_descriptors
from labutils.models.gan import IMAGE_SIZES, Discriminator, Generator
from labutils.runtime import get_device, outputs_dir, set_seed
from labutils.training.engine import History, Step, Trainer, adam, resolve_mixed_precision

DATASETS = ("art", "mnist")
MNIST_PADDED_SIZE = 32  # 28 x 28 digits padded with background to 32 x 32, the smallest GAN size
# A data set's own image size, where the config names none: the reports' 64 px for art; 32 px for the
# 28 px digits (64 px would only upsample them, at ~5x the cost per update: 0.48 s against 0.09 s on
# the 2-core CPU).
DEFAULT_IMAGE_SIZE = {"art": 64, "mnist": MNIST_PADDED_SIZE}
NUM_FIXED_NOISE = 64  # images in the fixed-noise grid rendered after every epoch (8 x 8)
RECALIBRATION_BATCHES = 8  # batches of noise that re-estimate a generator's BatchNorm statistics for sampling
# NHWC ("channels last") memory: cuDNN's fastest convolutions, and oneDNN's on the CPU (the 64 px
# GAN step is ~12% faster on the 2-core CPU). MPS gains nothing from it.
CHANNELS_LAST_DEVICES = ("cuda", "cpu")


# --- Config ---------------------------------------------------------------------------------------


@dataclass
class GANConfig(RunConfig):
    """DCGAN on abstract art (reports: z of 100, BCE, Adam 2e-4 (0.5, 0.999), batch 64, 100 epochs)."""

    family: ClassVar[str] = "gan"
    added_later: ClassVar[dict[str, Any]] = {"r1_gamma": 0.0, "r1_every": 1}

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
    # art (32 px, 100 epochs, with EMA) cutout raised the final SWD from 49 to 68.
    diffaugment_policy: str = "color,translation"
    spectral_norm: bool = False         # spectral normalisation in D, in place of its BatchNorm (Miyato et al. 2018)
    ema: bool = False                   # sample from an exponential moving average of G's weights
    ema_decay: float = 0.999            # EMA decay per generator update (with a warm-up, see `ema_decay_at`)
    r1_gamma: float = 0.0               # R1 penalty (gamma/2) |grad_x D(x)|^2 on real images (Mescheder et al. 2018); 0: off
    r1_every: int = 1                   # R1 on every Nth D update only, scaled by N ("lazy", Karras et al. 2020): cheaper
    swd_every: int = 1                  # sliced Wasserstein distance during training every N epochs (0: never)
    swd_train_images: int = 512         # images per set for that in-training distance (a small, cheap sample)
    seed: int = 0                       # seeds weights, batch order, noise and augmentation
    device: str = "auto"                # "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "mps"
    mixed_precision: str = "auto"       # "auto": bf16 autocast on CUDA GPUs that support it; "bf16"; "off"
    compile: bool = False               # torch.compile G and D (faster epochs on GPU after a warm-up)

    def __post_init__(self):
        _require(self.mixed_precision in MIXED_PRECISION,
                 f"mixed_precision must be one of {MIXED_PRECISION}, got {self.mixed_precision!r}.")
        self.g_hidden_dims = tuple(int(h) for h in self.g_hidden_dims)
        _require(self.dataset in DATASETS, f"dataset must be one of {DATASETS}, got {self.dataset!r}.")
        if self.image_size is None:
            self.image_size = DEFAULT_IMAGE_SIZE[self.dataset]
        _require(self.image_size in IMAGE_SIZES,
                 f"image_size must be a power of two from 32 to 128 {IMAGE_SIZES}, got {self.image_size}.")
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
        _require(self.r1_gamma >= 0, f"r1_gamma must be >= 0 (0: off), got {self.r1_gamma}.")
        _require(not (self.r1_gamma and self.compile),
                 "r1_gamma needs the gradient of D's gradient, which torch.compile does not provide: "
                 "set compile=False, or r1_gamma=0.")
        _require(self.swd_every >= 0, f"swd_every must be >= 0 (0: never), got {self.swd_every}.")
        _require(self.train_size is None or self.train_size >= self.batch_size,
                 f"train_size must be None (all) or >= batch_size ({self.batch_size}), got {self.train_size}.")
        unknown = [p for p in self.diffaugment_policy.split(",") if p and p not in AUGMENTATIONS]
        _require(not unknown, f"diffaugment_policy has unknown parts {unknown}; choose from {list(AUGMENTATIONS)}.")
        get_device(self.device)  # refuses an unknown or missing device now, before training

    @property
    def channels(self) -> int:
        return 1 if self.dataset == "mnist" else 3

    def replace(self, **changes: Any) -> "GANConfig":
        """A copy with some fields changed (and validated), e.g. `config.replace(ema=True)`."""
        return GANConfig(**{**self.to_dict(), **changes})


# --- DiffAugment (Zhao et al. 2020) -----------------------------------------------------------------
# Each transform takes a (B, C, H, W) batch in [-1, 1], draws its own random parameters per image
# and is differentiable in its input, so the generator is trained through it.


def augment_brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) - 0.5)  # shift by U(-0.5, 0.5)


def augment_saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)  # per-pixel grey
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) * 2) + mean  # x U(0, 2)


def augment_contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype) + 0.5) + mean  # x U(0.5, 1.5)


def augment_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to `ratio` of its size in each direction, filling with zeros."""
    b, _, h, w = x.shape
    max_dy, max_dx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-max_dy, max_dy + 1, (b, 1, 1), device=x.device)
    dx = torch.randint(-max_dx, max_dx + 1, (b, 1, 1), device=x.device)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy + 1).clamp(0, h + 1)  # +1: index into the padding
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx + 1).clamp(0, w + 1)
    padded = F.pad(x, (1, 1, 1, 1)).permute(0, 2, 3, 1)  # (B, H+2, W+2, C), a zero border
    index = torch.arange(b, device=x.device).view(b, 1, 1)
    return padded[index, rows, cols].permute(0, 3, 1, 2)  # (B, H, W, C) -> (B, C, H, W)


def augment_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """Zero a square of `ratio` times the image size, centred at a random pixel of each image."""
    b, _, h, w = x.shape
    size_y, size_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    top = torch.randint(0, h + (1 - size_y % 2), (b, 1, 1), device=x.device) - size_y // 2  # may start outside
    left = torch.randint(0, w + (1 - size_x % 2), (b, 1, 1), device=x.device) - size_x // 2
    rows = torch.arange(h, device=x.device).view(1, h, 1)
    cols = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (rows >= top) & (rows < top + size_y) & (cols >= left) & (cols < left + size_x)  # (B, H, W)
    return x * (~inside).unsqueeze(1).to(x.dtype)


AUGMENTATIONS = {
    "color": (augment_brightness, augment_saturation, augment_contrast),
    "translation": (augment_translation,),
    "cutout": (augment_cutout,),
}


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout") -> torch.Tensor:
    """DiffAugment: apply the policy's transforms in order, each with fresh random parameters per image."""
    for name in filter(None, policy.split(",")):
        for transform in AUGMENTATIONS[name]:
            x = transform(x)
    return x


# --- Sampling, EMA ------------------------------------------------------------------------------


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 0..255 on the CPU, the inverse of `to_signed_unit_interval`."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


@torch.no_grad()
def generate(generator: nn.Module, z: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """G(z) in evaluation mode (BatchNorm uses its running statistics), in batches; the mode is restored."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = torch.cat([generator(z[i:i + batch_size].to(device)) for i in range(0, len(z), batch_size)])
    generator.train(was_training)
    return out


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` latent vectors from z_a to z_b (each (latent_dim,)) along the great circle: (steps, latent_dim).

    Spherical rather than straight-line interpolation (White 2016, "Sampling Generative Networks"):
    a Gaussian z lies near a sphere of radius sqrt(latent_dim), and the straight line's midpoint
    falls well inside it, where the generator saw no training noise.
    """
    t = torch.linspace(0, 1, steps)[:, None]
    omega = torch.arccos((F.normalize(z_a, dim=0) @ F.normalize(z_b, dim=0)).clamp(-1, 1))
    if omega.abs() < 1e-6:
        return (1 - t) * z_a + t * z_b
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


def noise(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """n latent vectors ~ N(0, I), (n, latent_dim), from their own seeded generator on the CPU.

    Same numbers on every device, and the global random state, which drives training, is untouched.
    """
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def ema_decay_at(step: int, decay: float) -> float:
    """EMA decay for the `step`-th update (0-based): min(decay, (1 + t) / (10 + t)).

    The warm-up (as TensorFlow's ExponentialMovingAverage with num_updates) keeps the average
    from being dominated by the random initial weights in short runs.
    """
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1 - decay)


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, latent_dim: int, seed: int,
                          batches: int = RECALIBRATION_BATCHES, batch_size: int = 64) -> None:
    """Re-estimate the BatchNorm running statistics of `generator` on fresh noise ("precise BN").

    Sampling runs in evaluation mode, on running statistics. Training's running averages (momentum
    0.1) trail weights that move every step, and the averaged weights of an EMA generator never ran
    in training mode at all; a few forward passes of the current weights (cumulative average) give
    the statistics they actually produce. Training is unaffected: it normalises with batch statistics.
    """
    norms = [m for m in generator.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average over the batches below
    was_training = generator.training
    generator.train()
    device = next(generator.parameters()).device
    z = noise(batches * batch_size, latent_dim, seed)
    for i in range(batches):
        generator(z[i * batch_size:(i + 1) * batch_size].to(device))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    generator.train(was_training)


# --- The distance during training ---------------------------------------------------------------


class SWDMonitor:
    """A cheap sliced Wasserstein distance during training, on a small fixed sample.

    `n` real images (fixed, drawn once) against `n` images generated from fixed noise; the floor
    is the same distance between those real images and `n` other real ones. With a small `n`
    the numbers are noisier and higher than the notebook's final measurement on more images,
    but they are comparable with each other epoch to epoch. The real side is computed on first use.
    """

    def __init__(self, real: torch.Tensor, n: int, latent_dim: int, seed: int):
        self.n = min(n, len(real) // 2)
        if self.n < 2:
            raise ValueError(f"The distance needs at least 4 real images, got {len(real)}.")
        self.real, self.seed, self.image_size = real, seed, real.shape[-1]
        self.noise = noise(self.n, latent_dim, seed + 3)
        self._reference: list[torch.Tensor] | None = None
        self._floor: float | None = None

    def _prepare(self, device: torch.device | None = None) -> None:
        if self._reference is None:
            order = torch.randperm(len(self.real), generator=torch.Generator().manual_seed(self.seed))
            real = self.real.to(device) if device is not None else self.real
            self._reference = patch_descriptors(real[order[:self.n]], seed=self.seed)
            other = patch_descriptors(real[order[self.n:2 * self.n]], seed=self.seed + 1)
            self._floor = swd_from_descriptors(self._reference, other, self.image_size, seed=self.seed + 2)["average"]

    @property
    def floor(self) -> float:
        self._prepare()
        return self._floor

    def __call__(self, generator: nn.Module) -> float:
        """The distance of `generator`'s images to the real sample, computed on the generator's device."""
        device = next(generator.parameters()).device
        self._prepare(device)
        fake = to_uint8(generate(generator, self.noise)).to(self._reference[0].device)
        return swd_from_descriptors(self._reference, patch_descriptors(fake, seed=self.seed + 1),
                                    self.image_size, seed=self.seed + 2)["average"]


# --- The step -------------------------------------------------------------------------------------


class GANStep(Step):
    """One batch of GAN training: a discriminator update, then a generator update.

    D minimises BCE(D(x), 1) + BCE(D(G(z)), 0); G minimises BCE(D(G(z)), 1), the non-saturating
    loss of Goodfellow et al. 2014, whose gradient stays strong while D still rejects G's images.
    BCE is computed from logits (`binary_cross_entropy_with_logits`), the stable form of
    sigmoid + BCE. Logged per iteration: d_loss, g_loss, d_real = mean D(x) and d_fake = mean
    D(G(z)) (probabilities, D before its update, as in PyTorch's DCGAN example), and with R1 on,
    r1 = mean |grad_x D(x)|^2 (d_loss stays the BCE alone, comparable across runs).

    After each epoch the generators' BatchNorm statistics are re-estimated for sampling
    (`recalibrate_batchnorm`), and the fixed noise batch is rendered (by the EMA generator when
    there is one) and kept as uint8 in `snapshots`, which travel in the checkpoint.
    """

    def __init__(self, generator: Generator, discriminator: Discriminator, config: GANConfig,
                 real_images: torch.Tensor | None = None):
        self.generator, self.discriminator, self.config = generator, discriminator, config
        betas = (config.beta1, config.beta2)
        self.opt_g = adam(generator.parameters(), lr=config.lr, betas=betas)
        self.opt_d = adam(discriminator.parameters(), lr=config.lr, betas=betas)
        self.modules = {"generator": generator, "discriminator": discriminator}
        self.optimizers = {"generator": self.opt_g, "discriminator": self.opt_d}
        self.ema_generator: Generator | None = None
        if config.ema:
            self.ema_generator = copy.deepcopy(generator).requires_grad_(False)
            self.modules["ema_generator"] = self.ema_generator
        self.ema_updates = 0
        self.d_updates = 0
        self.last_r1 = torch.zeros(())  # the latest R1 measurement, logged on the updates between (lazy R1)
        self.fixed_noise = noise(NUM_FIXED_NOISE, config.latent_dim, config.seed)
        self.snapshots: list[torch.Tensor] = []  # per epoch: (64, C, S, S) uint8
        self.swd_monitor = None
        if config.swd_every and real_images is not None:
            self.swd_monitor = SWDMonitor(real_images, config.swd_train_images, config.latent_dim, config.seed)

    @property
    def sampler(self) -> Generator:
        """The generator to draw images from: the EMA one when enabled."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.config.diffaugment_policy) if self.config.diffaugment else x

    def train_step(self, batch):
        x = batch[0]  # (B, C, S, S) in [-1, 1]
        z = torch.randn(x.shape[0], self.config.latent_dim, device=x.device)  # (B, latent_dim)
        with self.autocast():  # bf16 forward passes where enabled; the losses below in float32
            fake = self.generator(z)  # (B, C, S, S)

        # Discriminator: real -> 1, generated -> 0. detach(): this update does not reach G.
        r1 = self.config.r1_gamma > 0 and self.d_updates % self.config.r1_every == 0
        self.d_updates += 1
        if r1:
            x = x.detach().requires_grad_(True)
        with self.autocast():
            logits_real = self.discriminator(self._augment(x)).float()
            logits_fake = self.discriminator(self._augment(fake.detach())).float()
        d_loss = (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
                  + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))
        penalty = 0
        if r1:  # a flat D around the real images: it cannot win on details G cannot yet draw
            grad, = torch.autograd.grad(logits_real.sum(), x, create_graph=True)
            self.last_r1 = grad.float().square().sum(dim=(1, 2, 3)).mean()
            penalty = self.config.r1_every * self.config.r1_gamma / 2 * self.last_r1
        self.opt_d.zero_grad(set_to_none=True)
        (d_loss + penalty).backward()
        self.opt_d.step()

        # Generator: make the updated D call its images real. D's weights need no gradient here.
        self.discriminator.requires_grad_(False)
        with self.autocast():
            logits_gen = self.discriminator(self._augment(fake)).float()
        g_loss = F.binary_cross_entropy_with_logits(logits_gen, torch.ones_like(logits_gen))
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.discriminator.requires_grad_(True)

        if self.ema_generator is not None:
            update_ema(self.ema_generator, self.generator, ema_decay_at(self.ema_updates, self.config.ema_decay))
            self.ema_updates += 1
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(logits_real.detach()).mean(),
                "d_fake": torch.sigmoid(logits_fake.detach()).mean(),
                **({"r1": self.last_r1.detach()} if self.config.r1_gamma > 0 else {})}  # lazy R1: the last one

    def end_epoch(self, epoch: int) -> dict[str, float]:
        self.recalibrate_generators(seed=self.config.seed + epoch)
        self.snapshots.append(to_uint8(generate(self.sampler, self.fixed_noise)))
        every = self.config.swd_every
        if self.swd_monitor is None or not (epoch == 1 or epoch % every == 0 or epoch == self.config.num_epochs):
            return {}
        return {"swd": self.swd_monitor(self.sampler), "swd_floor": self.swd_monitor.floor}

    def recalibrate_generators(self, seed: int) -> None:
        """Re-estimate the sampling statistics of G and of its EMA (both can be sampled: the options study does)."""
        for generator in (self.generator, self.ema_generator):
            if generator is not None:
                recalibrate_batchnorm(generator, self.config.latent_dim, seed=seed)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["snapshots"] = torch.stack(self.snapshots) if self.snapshots else None
        state["ema_updates"] = self.ema_updates
        state["d_updates"], state["last_r1"] = self.d_updates, self.last_r1
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.snapshots = list(state["snapshots"]) if state.get("snapshots") is not None else []
        self.ema_updates = state.get("ema_updates", 0)
        self.d_updates = state.get("d_updates", 0)
        self.last_r1 = state.get("last_r1", torch.zeros(()))


# --- Data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GANData:
    """The training images of a GAN run and where they came from."""

    images: torch.Tensor  # (N, C, S, S) uint8
    source: str  # one human line: where the images came from
    is_standin: bool  # True for the procedural stand-in of the art gallery
    label: str  # short name for figure titles, naming the stand-in as such

    @property
    def signed(self) -> torch.Tensor:
        """All images as floats in [-1, 1], as the networks see them."""
        return to_signed_unit_interval(self.images)


def mnist_for_gan(images: torch.Tensor, image_size: int) -> torch.Tensor:
    """(N, 28, 28) uint8 digits -> (N, 1, S, S): padded with background to 32 x 32, then resized to S."""
    x = F.pad(images[:, None], (2, 2, 2, 2))  # (N, 1, 28, 28) -> (N, 1, 32, 32)
    if image_size != MNIST_PADDED_SIZE:
        x = F.interpolate(x.float(), size=(image_size, image_size), mode="bilinear", align_corners=False)
        x = x.round().clamp(0, 255).to(torch.uint8)
    return x


def gan_to_mnist(images: torch.Tensor) -> torch.Tensor:
    """Generated digits (N, 1, S, S) uint8 -> (N, 1, 28, 28) floats in [0, 1], as MNIST's classifier reads them:
    back to 32 x 32, then the 2-pixel padding cropped (the inverse of `mnist_for_gan`)."""
    x = images.float() / 255
    if x.shape[-1] != MNIST_PADDED_SIZE:
        x = F.interpolate(x, size=(MNIST_PADDED_SIZE, MNIST_PADDED_SIZE), mode="bilinear", antialias=True,
                          align_corners=False)
    return x[:, :, 2:30, 2:30].clamp(0, 1)


def load_gan_data(config: GANConfig) -> GANData:
    """The training images that `config.dataset` names, at `config.image_size`, first `train_size` of them."""
    if config.dataset == "mnist":
        from labutils.data.mnist import load_mnist

        mnist = load_mnist()
        images = mnist_for_gan(mnist.train_images[:config.train_size], config.image_size)
        return GANData(images, mnist.source, is_standin=False, label="MNIST")
    from labutils.data.art import STANDIN_LABEL, load_abstract_art

    art = load_abstract_art(config.image_size)
    label = f"abstract art, {STANDIN_LABEL}" if art.is_standin else "abstract art"
    return GANData(art.images[:config.train_size], art.source, art.is_standin, label)


def gan_loader(data: GANData, config: GANConfig, device: torch.device) -> TensorLoader:
    """Shuffled batches on `device` in [-1, 1]; art is also flipped left-right at random (digits are not).

    drop_last: every update sees a full batch, so BatchNorm's statistics are alike from step to step.
    """
    transforms = [to_signed_unit_interval]
    if config.dataset == "art":
        transforms.append(random_horizontal_flip)
    if device.type in CHANNELS_LAST_DEVICES:
        transforms.append(to_channels_last)
    return TensorLoader(data.images, batch_size=config.batch_size, shuffle=True, drop_last=True,
                        transform=compose(*transforms), device=device, seed=config.seed)


# --- The recipe -----------------------------------------------------------------------------------


@dataclass
class TrainedGAN:
    """A trained (or loaded) GAN with what made it."""

    generator: Generator  # the generator to sample from (the EMA one when config.ema)
    discriminator: Discriminator
    config: GANConfig
    history: History
    checkpoint: Path
    device: torch.device
    step: GANStep
    train_loader: TensorLoader
    data: GANData

    @property
    def snapshots(self) -> list[torch.Tensor]:
        """The fixed-noise batch after each epoch, uint8 (64, C, S, S) each."""
        return self.step.snapshots

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n generated images in [-1, 1] on the CPU, (n, C, S, S), from seeded noise."""
        return generate(self.generator, noise(n, self.config.latent_dim, seed)).cpu()


def checkpoint_path(config: GANConfig) -> Path:
    return outputs_dir("checkpoints") / f"{config.run_id()}.pt"


def build_gan(config: GANConfig, device: torch.device) -> tuple[Generator, Discriminator]:
    """The two networks that `config` describes, DCGAN-initialised, on `device`."""
    generator = Generator(config.latent_dim, config.image_size, config.channels, kind=config.generator,
                          width=config.g_width, hidden_dims=config.g_hidden_dims, extra_layers=config.extra_layers)
    discriminator = Discriminator(config.image_size, config.channels, width=config.d_width,
                                  extra_layers=config.extra_layers, spectral_norm=config.spectral_norm)
    return generator.to(device), discriminator.to(device)


def build_gan_step(config: GANConfig, device: torch.device, real_images: torch.Tensor | None = None) -> GANStep:
    """Networks and optimisers that `config` describes, seeded, as one `GANStep` on `device`.

    `real_images` (uint8) enable the in-training distance (config.swd_every); without them it is off.
    """
    set_seed(config.seed)
    generator, discriminator = build_gan(config, device)
    return GANStep(generator, discriminator, config, real_images=real_images)


def tune_for_device(step: GANStep, config: GANConfig, device: torch.device) -> None:
    """Mixed precision as configured (bf16 changes rounding, nothing else), the NHWC layout where
    convolutions run faster in it, and `torch.compile` when asked: how fast, not what, is computed."""
    step.autocast_dtype = resolve_mixed_precision(config.mixed_precision, device)
    if device.type in CHANNELS_LAST_DEVICES:  # batches follow in gan_loader
        for module in step.modules.values():
            module.to(memory_format=torch.channels_last)
    if config.compile:  # in place: the state_dicts keep their plain names (the EMA copy stays eager)
        step.generator.compile()
        step.discriminator.compile()


def train_gan(config: GANConfig, progress: bool = True, retrain: bool = False,
              data: GANData | None = None, verbose: bool = True, continue_from: int | None = None) -> TrainedGAN:
    """Train the GAN that `config` describes, or load its finished checkpoint (resume a partial one).

    `data` may be passed in to reuse images already loaded (it must match `config`). `verbose=False`
    silences the headless per-epoch lines (the options study prints one line per run instead).
    `continue_from=N` trains on from the checkpoint of the same config with N epochs instead of from
    the start, e.g. to take a 100-epoch run to 200: the same result, as nothing in training depends
    on the number of epochs (the learning rate is constant; EMA's warm-up counts updates).
    """
    device = get_device(config.device)
    data = data if data is not None else load_gan_data(config)
    expected = (config.channels, config.image_size, config.image_size)
    if tuple(data.images.shape[1:]) != expected:
        raise ValueError(f"data holds images of shape {tuple(data.images.shape[1:])}, the config asks for {expected}.")
    images = data.images[:config.train_size]
    if len(images) < config.batch_size:
        raise ValueError(f"{len(images)} training images are fewer than one batch ({config.batch_size}).")
    data = GANData(images, data.source, data.is_standin, data.label)
    step = build_gan_step(config, device, real_images=images)
    tune_for_device(step, config, device)
    loader = gan_loader(data, config, device)
    path = checkpoint_path(config)
    if retrain:
        path.unlink(missing_ok=True)
    shorter = checkpoint_path(config.replace(num_epochs=continue_from)) if continue_from else None
    trainer = Trainer(step, loader, config.num_epochs, checkpoint_path=path, config=config.identity(),
                      progress=progress, verbose=verbose, continue_from=shorter)
    history = trainer.fit()
    # What the last epoch's end did for a run trained here (same seed, same result); a checkpoint
    # saved by an older lab version gets its sampling statistics brought up to date.
    step.recalibrate_generators(seed=config.seed + len(history))
    return TrainedGAN(step.sampler, step.discriminator, config, history, path, device, step, loader, data)


# --- Options study --------------------------------------------------------------------------------

# R1's weight in the study and in SMALL_DATA_OPTIONS: at 32 px (DiffAugment + EMA, 100 epochs) gamma 1
# lowered the SWD from 49 to 35; gamma 10 flattened D until it told nothing apart (D(x) = D(G(z)) = 0.50,
# SWD 127).
R1_GAMMA = 1.0
# Each variant: (changes to the reports' set-up, which generator is sampled). An EMA changes nothing
# in training (it only reads G's weights, and draws no random numbers), so every study run keeps
# one: "+ EMA" is the reports' run itself, sampled through its averaged weights, a paired comparison,
# and "+ DiffAugment + EMA" costs no training of its own. (Spectral norm with DiffAugment and EMA
# was left out: at 32 px it drew grey, checkered images, SWD 206 against 49 for DiffAugment + EMA.)
STUDY_VARIANTS: dict[str, tuple[dict[str, Any], str]] = {
    "reports' set-up": ({}, "generator"),
    "+ EMA": ({}, "ema"),
    "+ DiffAugment": ({"diffaugment": True}, "generator"),
    "+ DiffAugment + EMA": ({"diffaugment": True}, "ema"),
    "+ spectral norm": ({"spectral_norm": True}, "generator"),
    "+ R1": ({"r1_gamma": R1_GAMMA}, "generator"),
}
# The options the lab adds for a small data set such as the gallery's 2872 images (notebook 04 trains
# them beside the reports' set-up, for `options_epochs`): D sees colour-jittered, shifted images and
# cannot memorise them (Zhao et al. 2020), R1 keeps it from winning on detail (lazily, on every 4th
# update, as StyleGAN2 does, for a quarter of its cost), and samples come from averaged weights.
SMALL_DATA_OPTIONS: dict[str, Any] = {"diffaugment": True, "ema": True, "r1_gamma": R1_GAMMA, "r1_every": 4}
SMALL_DATA_LABEL = "+ DiffAugment + R1 + EMA"


def options_study(config: GANConfig, epochs: int, data: GANData, swd_images: int, progress: bool = False,
                  seed: int = 0) -> dict[str, dict[str, Any]]:
    """Train each of STUDY_VARIANTS for `epochs` epochs from the reports' set-up (the rest of `config`
    kept) and measure each one's sliced Wasserstein distance on the same real images, same noise.

    Returns {variant: {"swd", "swd_floor", "swd_levels", "n", "epochs", "train_seconds", "changes",
    "sampled", "samples" (8 uint8 images)}}. Runs are checkpointed like any other, so a rerun loads them.
    """
    from labutils.image_metrics import swd_against_floor

    base = config.replace(num_epochs=epochs, diffaugment=False, spectral_norm=False, r1_gamma=0.0, ema=True)
    n = min(swd_images, len(data.images) // 2)
    z = noise(n, config.latent_dim, seed + 7)
    run: TrainedGAN | None = None
    results = {}
    for name, (changes, sampled) in STUDY_VARIANTS.items():
        variant = base.replace(**changes)
        if run is None or run.config != variant:
            run = None  # one run in memory at a time (a variant's run is reloaded from its checkpoint)
            run = train_gan(variant, progress=progress, verbose=False, data=data)
            print(f"{changes or 'the reports set-up'}, EMA kept: {len(run.history)} epochs, "
                  f"{run.history.total_seconds:.0f} s of training")  # a loaded run says so above
        generator = run.step.ema_generator if sampled == "ema" else run.step.generator
        fake = to_uint8(generate(generator, z))
        measured = swd_against_floor(data.images, fake, n, seed=seed)
        results[name] = {
            "swd": measured["swd"]["average"], "swd_floor": measured["floor"]["average"],
            "swd_levels": measured["swd"], "n": n, "epochs": len(run.history),
            "train_seconds": run.history.total_seconds, "changes": changes, "sampled": sampled,
            "samples": fake[:8],
        }
    return results
