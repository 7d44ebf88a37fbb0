"""Explorers of a trained GAN (notebook 04): a slider through training, and a walk through the latent space."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from labutils.explore import Explorer, to_png
from labutils.models.sampling import generate, noise, slerp, to_uint8

WALK_IMAGES = 8  # walks drawn side by side, one per pair of noise vectors


def training_slider(snapshots: Sequence[torch.Tensor], shown: int = 32) -> Explorer:
    """A slider over the epochs: the generator's images of the same fixed noise after each one."""
    import ipywidgets as widgets

    epoch = widgets.IntSlider(value=len(snapshots), min=1, max=len(snapshots), description="epoch")
    image_shape = tuple(snapshots[0].shape[1:])

    def render(epoch: int) -> bytes:
        return to_png(snapshots[epoch - 1][:shown], nrow=8, image_shape=image_shape, scale=2 if image_shape[-1] <= 32 else 1)

    return Explorer(render, {"epoch": epoch}, "lab-training-explorer", caption="G(fixed noise) at that epoch")


def latent_walk(generator: nn.Module, latent_dim: int, first_seed: int, last_seed: int) -> Explorer:
    """Two noise seeds and a slider t: G at the point t of the great circle from one noise vector to the
    other, for WALK_IMAGES pairs at once."""
    import ipywidgets as widgets

    controls = {"first": widgets.BoundedIntText(value=first_seed, min=0, max=10**6, description="from seed"),
                "last": widgets.BoundedIntText(value=last_seed, min=0, max=10**6, description="to seed"),
                "t": widgets.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.02, description="t")}

    def render(first: int, last: int, t: float) -> bytes:
        starts, ends = noise(WALK_IMAGES, latent_dim, first), noise(WALK_IMAGES, latent_dim, last)
        z = torch.stack([point_on_great_circle(a, b, t) for a, b in zip(starts, ends)])  # (8, latent_dim)
        images = to_uint8(generate(generator, z))                                         # (8, C, S, S)
        return to_png(images, nrow=WALK_IMAGES, image_shape=tuple(images.shape[1:]))

    return Explorer(render, controls, "lab-latent-walk-explorer", caption="G(z(t))")


def point_on_great_circle(z_a: torch.Tensor, z_b: torch.Tensor, t: float) -> torch.Tensor:
    """The point t in [0, 1] of `slerp` from z_a to z_b (at 101 steps: t to the nearest 0.01)."""
    return slerp(z_a, z_b, 101)[round(t * 100)]
