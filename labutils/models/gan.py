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
stages is log2(S) - 2, so the feature maps always pass through 4 x 4.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

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


class Generator(nn.Module):
    """Noise z (B, latent_dim) -> images (B, C, S, S) in [-1, 1].

    kind="conv" (default, DCGAN): `width` is the channel count of the last hidden layer; each
    stage towards 4 x 4 doubles it (64, 128, 256, 512 for S = 64). `extra_layers` adds 3 x 3
    convolutions at full resolution (the DCGAN reference code's `n_extra_layers`).
    kind="mlp": Linear layers through `hidden_dims` (the reports' 256, 512), ReLU, then C x S x S.
    """

    def __init__(self, latent_dim: int = 100, image_size: int = 64, channels: int = 3, kind: str = "conv",
                 width: int = 64, hidden_dims: tuple[int, ...] = (256, 512), extra_layers: int = 0):
        super().__init__()
        if kind not in ("conv", "mlp"):
            raise ValueError(f"kind must be 'conv' or 'mlp', got {kind!r}.")
        stages = num_stages(image_size)
        self.latent_dim, self.image_size, self.channels, self.kind = latent_dim, image_size, channels, kind
        if kind == "mlp":
            dims = [latent_dim, *hidden_dims]
            layers: list[nn.Module] = []
            for d_in, d_out in zip(dims[:-1], dims[1:]):
                layers += [nn.Linear(d_in, d_out), nn.ReLU(inplace=True)]
            layers += [nn.Linear(dims[-1], channels * image_size * image_size), nn.Tanh()]
            self.net = nn.Sequential(*layers)  # (B, 100) -> (B, 256) -> (B, 512) -> (B, C*S*S)
            init_dcgan_weights(self)
            return
        widths = [width * 2 ** (stages - 1 - i) for i in range(stages)]  # S=64: [512, 256, 128, 64]
        layers = [  # (B, latent_dim, 1, 1) -> (B, widths[0], 4, 4)
            nn.ConvTranspose2d(latent_dim, widths[0], BASE_SIZE, 1, 0, bias=False),
            nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
        ]
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each: (B, c_in, s, s) -> (B, c_out, 2s, 2s)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        for _ in range(extra_layers):  # (B, width, S/2, S/2) kept
            layers += [nn.Conv2d(widths[-1], widths[-1], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[-1]),
                       nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1, bias=False), nn.Tanh()]  # -> (B, C, S, S)
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "mlp":
            return self.net(z).view(-1, self.channels, self.image_size, self.image_size)  # (B, C, S, S)
        return self.net(z.view(-1, self.latent_dim, 1, 1))  # (B, latent_dim) -> (B, C, S, S)


class Discriminator(nn.Module):
    """Images (B, C, S, S) in [-1, 1] -> logits (B,): sigmoid(logit) = P(image is real).

    Strided 4 x 4 convolutions halve the resolution down to 4 x 4 with `width`, 2 `width`, ...
    channels, LeakyReLU(0.2) after each and BatchNorm on all but the first (DCGAN). A final 4 x 4
    convolution gives one number per image. `spectral_norm=True` (Miyato et al. 2018) divides
    every convolution's weight by its largest singular value and drops the BatchNorm layers,
    as SN-GAN does: the normalisation alone keeps the discriminator 1-Lipschitz per layer. The
    convolutions then get biases (BatchNorm supplied the offsets before); without them D would
    be positively homogeneous, D(a x) = a D(x), and in practice does not learn.
    """

    def __init__(self, image_size: int = 64, channels: int = 3, width: int = 64, extra_layers: int = 0,
                 spectral_norm: bool = False):
        super().__init__()
        stages = num_stages(image_size)
        self.image_size, self.channels, self.spectral_norm = image_size, channels, spectral_norm
        widths = [width * 2 ** i for i in range(stages)]  # S=64: [64, 128, 256, 512]

        def norm(c: int) -> nn.Module:
            return nn.Identity() if spectral_norm else nn.BatchNorm2d(c)

        bias = spectral_norm  # DCGAN's convolutions have none (BatchNorm follows); SN-GAN's have them
        layers: list[nn.Module] = [  # (B, C, S, S) -> (B, width, S/2, S/2)
            nn.Conv2d(channels, widths[0], 4, 2, 1, bias=bias), nn.LeakyReLU(0.2, inplace=True)]
        for _ in range(extra_layers):
            layers += [nn.Conv2d(widths[0], widths[0], 3, 1, 1, bias=bias), norm(widths[0]),
                       nn.LeakyReLU(0.2, inplace=True)]
        for c_in, c_out in zip(widths[:-1], widths[1:]):  # each: (B, c_in, s, s) -> (B, c_out, s/2, s/2)
            layers += [nn.Conv2d(c_in, c_out, 4, 2, 1, bias=bias), norm(c_out), nn.LeakyReLU(0.2, inplace=True)]
        layers += [nn.Conv2d(widths[-1], 1, BASE_SIZE, 1, 0, bias=bias)]  # (B, 512, 4, 4) -> (B, 1, 1, 1)
        self.net = nn.Sequential(*layers)
        init_dcgan_weights(self)  # before spectral norm, whose power iteration starts from these weights
        if spectral_norm:
            for module in self.net:
                if isinstance(module, nn.Conv2d):
                    _spectral_norm(module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)  # (B, C, S, S) -> (B,) logits

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """P(real) for each image, (B,): the reports' sigmoid output."""
        return torch.sigmoid(self(x))


def _weight(module: nn.Module) -> torch.Tensor:
    """The trainable weight tensor: under spectral norm, the raw weight before normalisation."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original
    return module.weight


@torch.no_grad()
def init_dcgan_weights(model: nn.Module, std: float = INIT_STD) -> nn.Module:
    """DCGAN's initialisation, in place: conv and linear weights ~ N(0, std), BatchNorm scale ~ N(1, std),
    every bias 0. Returns `model`.

    `Generator` and `Discriminator` apply it when they are built. Under spectral norm it sets the
    raw weight; the norm's power-iteration estimate then re-converges within a few training steps.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(_weight(module), 0.0, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, std)
            nn.init.zeros_(module.bias)
    return model


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
