"""One batch of GAN training for the lab's loop: the players' losses, their optimisers, both updates,
the generator's moving average and BatchNorm's re-estimation after each epoch.

All of it is written and explained in notebook 04, between the marker lines; `make export` copies it
here. What the engine watches during training (fixed noise, the in-training distance) is `gan_watch`.
"""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from labutils.config import GANConfig
from labutils.models.sampling import ema_decay_at, recalibrate_batchnorm, update_ema
from labutils.training.diffaugment import diff_augment
from labutils.training.step import Step, adam, add_to_class

# ---- #@save cells of notebooks/04_gan.ipynb: edit them there, then `make export` ----
def discriminator_loss(logits_real: torch.Tensor, logits_fake: torch.Tensor, kind: str = "bce") -> torch.Tensor:
    """D's loss. "bce" (the reports'): real images -> 1 and generated ones -> 0, from logits (the stable form
    of sigmoid + BCE). "relativistic" (RpGAN, Jolicoeur-Martineau 2019, R3GAN's loss): the i-th real and the
    i-th generated image are a pair, and D learns to score the real one higher: softplus(D(fake) - D(real))."""
    if kind == "relativistic":
        return F.softplus(logits_fake - logits_real).mean()
    return (F.binary_cross_entropy_with_logits(logits_real, torch.ones_like(logits_real))
            + F.binary_cross_entropy_with_logits(logits_fake, torch.zeros_like(logits_fake)))


def generator_loss(logits_generated: torch.Tensor, logits_real: torch.Tensor | None = None,
                   kind: str = "bce") -> torch.Tensor:
    """G's loss. "bce": non-saturating (Goodfellow et al. 2014), BCE towards 1, i.e. G maximises log D(G(z));
    its gradient stays strong while D still rejects G's images, unlike minimising log(1 - D(G(z))).
    "relativistic": the pair's order reversed, softplus(D(real) - D(fake)): G lifts its images above real ones."""
    if kind == "relativistic":
        return F.softplus(logits_real - logits_generated).mean()
    return F.binary_cross_entropy_with_logits(logits_generated, torch.ones_like(logits_generated))


def gradient_penalty(logits: torch.Tensor, images: torch.Tensor) -> torch.Tensor:
    """Mean |grad_x D(x)|^2 at `images`, differentiable for D's update: R1 at real images, R2 at generated."""
    grad, = torch.autograd.grad(logits.sum(), images, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3)).mean()


def gan_optimizers(generator: nn.Module, discriminator: nn.Module, config: GANConfig):
    """One Adam per player, with DCGAN's settings: lr 2e-4 and betas (0.5, 0.999). A first beta of 0.5
    instead of Adam's 0.9 lets the momentum forget faster, which Radford et al. found steadies the game."""
    betas = (config.beta1, config.beta2)
    opt_g = adam(generator.parameters(), lr=config.lr, betas=betas)
    opt_d = adam(discriminator.parameters(), lr=config.lr, betas=betas)
    return opt_g, opt_d


def discriminator_update(discriminator: nn.Module, opt_d: torch.optim.Optimizer, x: torch.Tensor,
                         fake: torch.Tensor, augment: Callable, autocast: Callable, loss: str = "bce",
                         r1_weight: float = 0.0, r2_weight: float = 0.0):
    """One Adam step of D on a real batch x and a generated one, plus r1_weight * R1 and r2_weight * R2 where
    they are > 0. Returns what it measured (detached): D's loss, its mean outputs before the step, R1 and R2."""
    x = x.detach().requires_grad_(bool(r1_weight))        # a gradient at the images only for a penalty
    fake = fake.detach().requires_grad_(bool(r2_weight))  # detach: this update does not reach G
    with autocast():
        logits_real = discriminator(augment(x)).float()
        logits_fake = discriminator(augment(fake)).float()
    d_loss = discriminator_loss(logits_real, logits_fake, loss)
    # D flat around the real images (R1) and the generated ones (R2): it cannot win on detail
    penalties = {name: (weight, gradient_penalty(logits, images)) for name, weight, logits, images
                 in (("r1", r1_weight, logits_real, x), ("r2", r2_weight, logits_fake, fake)) if weight}
    total = d_loss + sum(weight * penalty for weight, penalty in penalties.values())
    opt_d.zero_grad(set_to_none=True)
    total.backward()
    opt_d.step()
    return {"d_loss": d_loss.detach(),
            "d_real": torch.sigmoid(logits_real.detach()).mean(),  # D before its update, as in
            "d_fake": torch.sigmoid(logits_fake.detach()).mean(),  # PyTorch's DCGAN example
            **{name: penalty.detach() for name, (_, penalty) in penalties.items()}}


def generator_update(discriminator: nn.Module, opt_g: torch.optim.Optimizer, fake: torch.Tensor,
                     augment: Callable, autocast: Callable, loss: str = "bce", x: torch.Tensor | None = None):
    """One Adam step of G: make the just-updated D call its images real (relativistic: score them above the
    real batch x). Returns G's loss (detached). D's weights need no gradient here."""
    discriminator.requires_grad_(False)
    with autocast():
        logits_generated = discriminator(augment(fake)).float()
        logits_real = discriminator(augment(x)).float() if loss == "relativistic" else None
    g_loss = generator_loss(logits_generated, logits_real, loss)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    discriminator.requires_grad_(True)
    return g_loss.detach()


class GANStep(Step):
    """One batch of GAN training, as the loop calls it: D's update, then G's, then G's moving average."""

    counters = ("iterations", "last_r1", "last_r2")  # kept in the checkpoint: a resumed run goes on exactly

    def __init__(self, generator: nn.Module, discriminator: nn.Module, config: GANConfig):
        self.generator, self.discriminator, self.config = generator, discriminator, config
        self.opt_g, self.opt_d = gan_optimizers(generator, discriminator, config)
        # The moving average of G's weights, sampled when config.ema; it is never trained itself.
        self.ema_generator = copy.deepcopy(generator).requires_grad_(False) if config.ema else None
        self.modules = {"generator": generator, "discriminator": discriminator,
                        **({"ema_generator": self.ema_generator} if config.ema else {})}
        self.optimizers = {"generator": self.opt_g, "discriminator": self.opt_d}
        self.iterations = 0  # batches trained: the penalties' and the average's schedules count them
        self.last_r1 = self.last_r2 = torch.zeros(())  # the latest penalties, logged between two measurements

    @property
    def sampler(self) -> nn.Module:
        """The generator to draw images from: the moving average when config.ema."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """DiffAugment (when on) of every image D sees, real or generated, in both players' updates."""
        return diff_augment(x, self.config.diffaugment_policy) if self.config.diffaugment else x


@add_to_class(GANStep)
def train_step(self, batch):
    c = self.config
    x = batch[0]                                                 # (B, C, S, S) in [-1, 1]
    z = torch.randn(x.shape[0], c.latent_dim, device=x.device)   # (B, latent_dim)
    with self.autocast():  # bf16 forward passes where enabled; the losses in float32
        fake = self.generator(z)                                 # (B, C, S, S)
    # Lazy R1 and R2 (StyleGAN2): measured on every r1_every-th update only, weighted up by r1_every.
    lazy = c.r1_every if self.iterations % c.r1_every == 0 else 0
    d = discriminator_update(self.discriminator, self.opt_d, x, fake, self.augment, self.autocast, c.loss,
                             r1_weight=lazy * c.r1_gamma / 2, r2_weight=lazy * c.r2_gamma / 2)
    g_loss = generator_update(self.discriminator, self.opt_g, fake, self.augment, self.autocast, c.loss, x)
    if self.ema_generator is not None:
        update_ema(self.ema_generator, self.generator, ema_decay_at(self.iterations, c.ema_decay))
    self.iterations += 1
    self.last_r1, self.last_r2 = d.get("r1", self.last_r1), d.get("r2", self.last_r2)
    return {"d_loss": d["d_loss"], "g_loss": g_loss, "d_real": d["d_real"], "d_fake": d["d_fake"],
            **({"r1": self.last_r1} if c.r1_gamma > 0 else {}), **({"r2": self.last_r2} if c.r2_gamma > 0 else {})}


@add_to_class(GANStep)
def end_epoch(self, epoch: int) -> dict[str, float]:
    """Re-estimate the BatchNorm statistics that sampling uses, for G and for its average: training's
    running averages trail weights that move every step, and the average never ran in training mode."""
    for generator in (self.generator, self.ema_generator):
        if generator is not None:
            recalibrate_batchnorm(generator, self.config.latent_dim, seed=self.config.seed + epoch)
    return {}
# ---- end of notebooks/04_gan.ipynb ----
