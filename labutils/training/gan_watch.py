"""What the engine records of a GAN after each epoch, beside the lesson: the fixed noise batch rendered by
the generator that is sampled, and a cheap distance to the real images. Watching changes nothing that
trains, and no step names this code, so editing it renames no run (the fingerprint never reaches it)."""
from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from labutils.config import GANConfig
from labutils.metrics.images import SWDReference
from labutils.models.sampling import generate, noise, to_uint8

NUM_FIXED_NOISE = 64  # images in the fixed-noise grid rendered after every epoch (8 x 8)
# Patches per image and level for the in-training distance: a quarter of the final measurement's 128,
# so that watching training costs a few per cent of it (`make bench` measures the share).
MONITOR_PATCHES_PER_IMAGE = 32


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


class GANWatch:
    """Called by the engine after each epoch's end (BatchNorm's statistics are re-estimated by then): the
    fixed noise batch rendered by `step.sampler` (`snapshots`, uint8, kept in the checkpoint), and every
    `config.swd_every` epochs, at the first and at the last, the in-training distance (`real_images`,
    uint8, enable it)."""

    def __init__(self, config: GANConfig, real_images: torch.Tensor | None = None):
        self.config = config
        self.fixed_noise = noise(NUM_FIXED_NOISE, config.latent_dim, config.seed)
        self.snapshots: list[torch.Tensor] = []  # per epoch: (64, C, S, S) uint8
        self.swd_monitor = None
        if config.swd_every and real_images is not None:
            self.swd_monitor = SWDMonitor(real_images, config.swd_train_images, config.latent_dim, config.seed)

    def __call__(self, epoch: int, step) -> dict[str, float]:
        self.snapshots.append(to_uint8(generate(step.sampler, self.fixed_noise)))
        every = self.config.swd_every
        if self.swd_monitor is None or not (epoch == 1 or epoch % every == 0 or epoch == self.config.num_epochs):
            return {}
        start = time.perf_counter()
        distance = self.swd_monitor(step.sampler)
        return {"swd": distance, "swd_floor": self.swd_monitor.floor, "swd_seconds": time.perf_counter() - start}

    def state_dict(self) -> dict[str, Any]:
        return {"snapshots": torch.stack(self.snapshots) if self.snapshots else None}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.snapshots = list(state["snapshots"]) if state.get("snapshots") is not None else []
