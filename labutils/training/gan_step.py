"""One batch of GAN training for the lab's engine, and the distance it watches during training.

The losses, both players' updates and `GANStep` are written and explained in notebook 04, between
the marker lines; `make export` copies them here. `AdversarialStep` holds the bookkeeping around them.
"""
from __future__ import annotations

import copy
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from labutils.config import GANConfig
from labutils.fingerprint import not_identifying
from labutils.metrics.images import SWDReference
from labutils.models.gan import Discriminator, Generator
from labutils.models.sampling import ema_decay_at, generate, noise, recalibrate_batchnorm, to_uint8, update_ema
from labutils.training.diffaugment import diff_augment
from labutils.training.engine import Step, adam

NUM_FIXED_NOISE = 64  # images in the fixed-noise grid rendered after every epoch (8 x 8)
# Patches per image and level for the in-training distance: a quarter of the final measurement's 128,
# so that watching training costs a few per cent of it (`make bench` measures the share).
MONITOR_PATCHES_PER_IMAGE = 32


@not_identifying  # how training is watched names no run
class SWDMonitor:
    """A cheap sliced Wasserstein distance during training, on a small fixed sample with a quarter
    of the final measurement's patches.

    `n` real images (fixed, drawn once) against `n` images generated from fixed noise; the floor
    is the same distance between those real images and `n` other real ones. With a small `n`
    the numbers are noisier than the notebook's final measurement on more images, and their floor is
    higher, but they are comparable with each other epoch to epoch. The real side (descriptors, and their
    sorted projections on each level's fixed directions) is computed once, on first use: each
    measurement then costs the generated side only.
    """

    def __init__(self, real: torch.Tensor, n: int, latent_dim: int, seed: int,
                 patches_per_image: int = MONITOR_PATCHES_PER_IMAGE):
        self.n, self.patches_per_image = min(n, len(real) // 2), patches_per_image
        if self.n < 2:
            raise ValueError(f"The distance needs at least 4 real images, got {len(real)}.")
        self.real, self.seed = real, seed
        self.noise = noise(self.n, latent_dim, seed + 3)
        self._reference: SWDReference | None = None

    def _prepare(self, device: torch.device | None = None) -> SWDReference:
        if self._reference is None:
            real = self.real.to(device) if device is not None else self.real
            self._reference = SWDReference(real, self.n, self.seed, self.patches_per_image)
        return self._reference

    @property
    def floor(self) -> float:
        return self._prepare().floor["average"]

    def __call__(self, generator: nn.Module) -> float:
        """The distance of `generator`'s images to the real sample, computed on the generator's device."""
        reference = self._prepare(next(generator.parameters()).device)
        fake = to_uint8(generate(generator, self.noise)).to(reference.device)
        return reference.distance(fake)["average"]


class AdversarialStep(Step):
    """What every GAN step shares, beside the lesson: the two players and their Adam optimisers, the EMA
    copy of G, the fixed noise rendered after every epoch (`snapshots`, kept as uint8 in the checkpoint),
    the in-training distance, and their checkpoint state. `GANStep` (notebook 04) adds `train_step`.

    After each epoch the generators' BatchNorm statistics are re-estimated for sampling
    (`recalibrate_batchnorm`), and the fixed noise batch is rendered by the EMA generator when there is one.
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

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment (when on) of every image D sees, real or generated, in both players' updates."""
        return diff_augment(x, self.config.diffaugment_policy) if self.config.diffaugment else x

    def update_ema_generator(self) -> None:
        """Move the EMA copy of G towards G (when on), after each generator update."""
        if self.ema_generator is not None:
            update_ema(self.ema_generator, self.generator, ema_decay_at(self.ema_updates, self.config.ema_decay))
            self.ema_updates += 1

    def end_epoch(self, epoch: int) -> dict[str, float]:
        self.recalibrate_generators(seed=self.config.seed + epoch)
        self.snapshots.append(to_uint8(generate(self.sampler, self.fixed_noise)))
        every = self.config.swd_every
        if self.swd_monitor is None or not (epoch == 1 or epoch % every == 0 or epoch == self.config.num_epochs):
            return {}
        start = time.perf_counter()
        distance = self.swd_monitor(self.sampler)
        return {"swd": distance, "swd_floor": self.swd_monitor.floor, "swd_seconds": time.perf_counter() - start}

    def recalibrate_generators(self, seed: int) -> None:
        """Re-estimate the sampling statistics of G and of its EMA (both can be sampled: the options study does)."""
        for generator in (self.generator, self.ema_generator):
            if generator is not None:
                recalibrate_batchnorm(generator, self.config.latent_dim, seed=seed)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["snapshots"] = torch.stack(self.snapshots) if self.snapshots else None
        state["ema_updates"] = self.ema_updates
        state["d_updates"], state["last_r1"] = self.d_updates, self.last_r1.detach()  # a value, not its graph
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.snapshots = list(state["snapshots"]) if state.get("snapshots") is not None else []
        self.ema_updates = state.get("ema_updates", 0)
        self.d_updates = state.get("d_updates", 0)
        # On D's device, whatever device the checkpoint was read onto: with lazy R1 the updates between two
        # measurements log this value beside the others, and the engine stacks them.
        self.last_r1 = state.get("last_r1", torch.zeros(())).detach().to(next(self.discriminator.parameters()).device)


# ---- #@save cells of notebooks/04_gan.ipynb: edit them there, then `make export` ----
def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> torch.Tensor:
    """BCE with real images -> 1 and generated ones -> 0, from logits (the stable form of sigmoid + BCE)."""
    return (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))


def generator_loss(logits_generated: torch.Tensor) -> torch.Tensor:
    """Non-saturating (Goodfellow et al. 2014): BCE towards 1, i.e. G maximises log D(G(z)); its gradient
    stays strong while D still rejects G's images, unlike minimising log(1 - D(G(z)))."""
    return F.binary_cross_entropy_with_logits(logits_generated, torch.ones_like(logits_generated))


def r1_penalty(logits_real: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
    """Mean |grad_x D(x)|^2 at the real images (Mescheder et al. 2018), differentiable for D's update."""
    grad, = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3)).mean()


def discriminator_update(step: AdversarialStep, x: torch.Tensor, fake: torch.Tensor):
    """One Adam step of D on a real batch x and a generated one; R1 on every r1_every-th update."""
    config = step.config
    r1 = config.r1_gamma > 0 and step.d_updates % config.r1_every == 0
    step.d_updates += 1
    if r1:
        x = x.detach().requires_grad_(True)
    with step.autocast():  # fake.detach(): this update does not reach G
        logits_real = step.discriminator(step.augment(x)).float()
        logits_fake = step.discriminator(step.augment(fake.detach())).float()
    d_loss = discriminator_loss(logits_real, logits_fake)
    penalty = 0
    if r1:  # a flat D around the real images: it cannot win on details G cannot yet draw
        step.last_r1 = r1_penalty(logits_real, x)
        penalty = config.r1_every * config.r1_gamma / 2 * step.last_r1
    step.opt_d.zero_grad(set_to_none=True)
    (d_loss + penalty).backward()
    step.opt_d.step()
    return d_loss, logits_real, logits_fake


def generator_update(step: AdversarialStep, fake: torch.Tensor) -> torch.Tensor:
    """One Adam step of G: make the just-updated D call its images real. D's weights need no gradient."""
    step.discriminator.requires_grad_(False)
    with step.autocast():
        logits_generated = step.discriminator(step.augment(fake)).float()
    g_loss = generator_loss(logits_generated)
    step.opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    step.opt_g.step()
    step.discriminator.requires_grad_(True)
    return g_loss


class GANStep(AdversarialStep):
    """One batch of GAN training, as the engine's loop calls it: D's update, then G's, then G's average."""

    def train_step(self, batch):
        x = batch[0]                                                          # (B, C, S, S) in [-1, 1]
        z = torch.randn(x.shape[0], self.config.latent_dim, device=x.device)  # (B, latent_dim)
        with self.autocast():  # bf16 forward passes where enabled; the losses in float32
            fake = self.generator(z)                                          # (B, C, S, S)
        d_loss, logits_real, logits_fake = discriminator_update(self, x, fake)
        g_loss = generator_update(self, fake)
        self.update_ema_generator()
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach(),
                "d_real": torch.sigmoid(logits_real.detach()).mean(),        # D before its update, as in
                "d_fake": torch.sigmoid(logits_fake.detach()).mean(),        # PyTorch's DCGAN example
                **({"r1": self.last_r1.detach()} if self.config.r1_gamma > 0 else {})}
# ---- end of notebooks/04_gan.ipynb ----
