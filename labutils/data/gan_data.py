"""A GAN's training images: the abstract art (or its stand-in) or MNIST's digits padded to 32 px,
and the shuffled batches the GAN trains on."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from labutils.config import MNIST_PADDED_SIZE, GANConfig
from labutils.data.art import STANDIN_LABEL, load_abstract_art
from labutils.data.loaders import (CHANNELS_LAST_DEVICES, TensorLoader, compose, random_horizontal_flip,
                                   to_channels_last, to_signed_unit_interval)
from labutils.data.mnist import load_mnist


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
        mnist = load_mnist()
        images = mnist_for_gan(mnist.train_images[:config.train_size], config.image_size)
        return GANData(images, mnist.source, is_standin=False, label="MNIST")
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
