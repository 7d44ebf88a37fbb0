"""Drawing images from a trained generator: seeded noise, batched generation, interpolation, and the
two things that make its samples better than its last training step's: BatchNorm statistics
re-estimated for the weights being sampled, and an exponential moving average of its weights
(written in notebook 04, between the marker lines; `make export` copies it here).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RECALIBRATION_BATCHES = 8  # batches of noise that re-estimate a generator's BatchNorm statistics for sampling


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


# ---- #@save cells of notebooks/04_gan.ipynb: edit them there, then `make export` ----
def ema_decay_at(t: int, decay: float) -> float:
    """The average's decay at its t-th update (0-based): min(decay, (1 + t) / (10 + t)).

    The warm-up (as TensorFlow's ExponentialMovingAverage with num_updates) keeps the average
    from being dominated by the random initial weights in short runs.
    """
    return min(decay, (1 + t) / (10 + t))


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- decay * ema + (1 - decay) * model, parameter by parameter."""
    for p_ema, p in zip(ema.parameters(), model.parameters()):
        p_ema.lerp_(p, 1 - decay)
# ---- end of notebooks/04_gan.ipynb ----
