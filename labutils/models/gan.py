"""The GAN's two players: a generator that maps noise to images and a discriminator that scores them.

Defaults follow the lab reports and DCGAN (Radford et al. 2016, "Unsupervised Representation
Learning with Deep Convolutional Generative Adversarial Networks"):

- Generator: z (latent_dim = 100) -> image in [-1, 1] (Tanh). The default is DCGAN's stack of
  transposed convolutions, each doubling the resolution, with BatchNorm and ReLU inside; for
  64 x 64 and width 64 it runs 100 -> 512 x 4 x 4 -> 256 x 8 x 8 -> 128 x 16 x 16 -> 64 x 32 x 32 -> 3 x 64 x 64.
  `kind="mlp"` is the reports' fully connected reading, 100 -> 256 -> 512 -> C x S x S.
- Discriminator: strided convolutions halving the resolution down to 4 x 4, then one 4 x 4
  convolution to a single number; LeakyReLU(0.2), BatchNorm inside (not on the first layer).
  It returns the *logit*: sigmoid(logit) is the probability that the image is real, and the
  binary cross-entropy on probabilities equals `binary_cross_entropy_with_logits` on logits,
  which is the numerically stable form of the same loss.

Both build for every power-of-two image size from 32 to 128: the number of (de)convolution
stages is log2(S) - 2, so the feature maps always pass through 4 x 4. The networks and their
initialisation are written and explained in notebook 04, between the marker lines; `make export`
copies them here.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from labutils.config import GAN_IMAGE_SIZES as IMAGE_SIZES

BASE_SIZE = 4  # resolution where the generator starts and the discriminator ends
INIT_STD = 0.02  # DCGAN: every weight ~ N(0, 0.02), BatchNorm scales ~ N(1, 0.02)


def check_image_size(image_size: int) -> int:
    """Return `image_size` if the GAN can be built for it; ValueError otherwise."""
    if image_size not in IMAGE_SIZES:
        raise ValueError(f"image_size must be a power of two from 32 to 128 ({', '.join(map(str, IMAGE_SIZES))}), "
                         f"got {image_size}.")
    return image_size


def num_stages(image_size: int) -> int:
    """Resolution doublings between 4 x 4 and `image_size` x `image_size`: 3 for 32, 4 for 64, 5 for 128."""
    return int(math.log2(check_image_size(image_size) // BASE_SIZE))


# ---- #@save cells of notebooks/04_gan.ipynb: edit them there, then `make export` ----
def conv_generator_layers(latent_dim: int, image_size: int, channels: int, width: int, extra_layers: int = 0) -> list[nn.Module]:
    """DCGAN's generator: transposed convolutions that double the resolution from 4 x 4 to S x S."""
    stages = num_stages(image_size)
    widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # S=64: [512, 256, 128, 64]
    layers = [nn.ConvTranspose2d(latent_dim, widths[0], BASE_SIZE, 1, 0, bias=False),  # (B, 100, 1, 1) -> (B, 512, 4, 4)
              nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True)]
    for c_in, c_out in zip(widths[:-1], widths[1:]):  # each: (B, c_in, s, s) -> (B, c_out, 2s, 2s)
        layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    for _ in range(extra_layers):  # 3 x 3 convolutions that keep (B, width, S/2, S/2)
        layers += [nn.Conv2d(widths[-1], widths[-1], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[-1]),
                   nn.ReLU(inplace=True)]
    return layers + [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]  # (B, C, S, S)


def mlp_generator_layers(latent_dim: int, image_size: int, channels: int, hidden_dims=(256, 512)) -> list[nn.Module]:
    """The reports' fully connected reading: 100 -> 256 -> 512 -> C x S x S, ReLU inside, Tanh out."""
    dims, layers = [latent_dim, *hidden_dims], []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out), nn.ReLU(inplace=True)]
    return layers + [nn.Linear(dims[-1], channels * image_size * image_size), nn.Tanh()]


class Generator(nn.Module):
    """Noise z (B, latent_dim) -> images (B, C, S, S) in [-1, 1]; kind "conv" (DCGAN) or "mlp"."""

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, kind: str = "conv",
                 width: int = 64, hidden_dims: tuple[int, ...] = (256, 512), extra_layers: int = 0):
        super().__init__()
        if kind not in ("conv", "mlp"):
            raise ValueError(f"kind must be 'conv' or 'mlp', got {kind!r}.")
        self.latent_dim, self.image_size, self.channels, self.kind = latent_dim, image_size, channels, kind
        self.net = nn.Sequential(*(conv_generator_layers(latent_dim, image_size, channels, width, extra_layers)
                                   if kind == "conv" else mlp_generator_layers(latent_dim, image_size, channels, hidden_dims)))
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "mlp":
            return self.net(z).view(-1, self.channels, self.image_size, self.image_size)  # (B, C, S, S)
        return self.net(z.view(-1, self.latent_dim, 1, 1))  # (B, latent_dim) -> (B, C, S, S)


def discriminator_layers(image_size: int, channels: int, width: int, extra_layers: int = 0,
                         spectral_norm: bool = False, batchnorm: bool = True) -> list[nn.Module]:
    """Strided 4 x 4 convolutions halving S x S down to 4 x 4, LeakyReLU(0.2), BatchNorm but on the first.
    No BatchNorm under spectral norm or with `batchnorm=False` (a normalisation-free D, as R3GAN's), and
    biases instead (without them D(a x) = a D(x): it does not learn)."""
    widths = [width * 2 ** i for i in range(num_stages(image_size))]  # S=64: [64, 128, 256, 512]
    batchnorm = batchnorm and not spectral_norm
    norm, bias = (nn.BatchNorm2d, False) if batchnorm else ((lambda c: nn.Identity()), True)
    layers = [nn.Conv2d(channels, widths[0], 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, inplace=True)]
    for _ in range(extra_layers):  # (B, width, S/2, S/2) kept
        layers += [nn.Conv2d(widths[0], widths[0], 3, 1, 1, bias=bias), norm(widths[0]), nn.LeakyReLU(0.2, inplace=True)]
    for c_in, c_out in zip(widths[:-1], widths[1:]):  # each: (B, c_in, s, s) -> (B, c_out, s/2, s/2)
        layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), norm(c_out), nn.LeakyReLU(0.2, inplace=True)]
    return layers + [nn.Conv2d(widths[-1], 1, BASE_SIZE, 1, 0, bias=bias)]  # (B, 512, 4, 4) -> (B, 1, 1, 1)


class Discriminator(nn.Module):
    """Images (B, C, S, S) in [-1, 1] -> logits (B,): sigmoid(logit) = P(image is real).
    `spectral_norm=True` (Miyato et al. 2018) divides each convolution's weight by its largest singular value;
    `batchnorm=False` leaves BatchNorm out."""

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, extra_layers: int = 0,
                 spectral_norm: bool = False, batchnorm: bool = True):
        super().__init__()
        self.image_size, self.channels, self.spectral_norm = image_size, channels, spectral_norm
        self.net = nn.Sequential(*discriminator_layers(image_size, channels, width, extra_layers, spectral_norm,
                                                       batchnorm))
        init_dcgan_weights(self)  # before spectral norm, whose power iteration starts from these weights
        for module in self.net if spectral_norm else []:
            if isinstance(module, nn.Conv2d):
                apply_spectral_norm(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)  # (B, C, S, S) -> (B,) logits

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self(x))  # the reports' sigmoid output, P(real) per image


@torch.no_grad()
def init_dcgan_weights(model: nn.Module, std: float = INIT_STD) -> nn.Module:
    """DCGAN's initialisation, in place: conv and linear weights ~ N(0, std), BatchNorm scales ~ N(1, std),
    biases 0. Under spectral norm it sets the raw weight (the norm's estimate re-converges in a few steps)."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = module.parametrizations.weight.original if parametrize.is_parametrized(module, "weight") \
                else module.weight
            nn.init.normal_(weight, 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return model
# ---- end of notebooks/04_gan.ipynb ----


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
