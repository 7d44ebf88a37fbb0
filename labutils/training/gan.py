"""The GAN's train-or-load recipe: the networks and the step that a `GANConfig` describes, trained by
the lab's engine or loaded from their checkpoint.

The default run is the lab reports' set-up (DCGAN, Radford et al. 2016): binary cross-entropy
for both players, Adam with lr 2e-4 and betas (0.5, 0.999) for both, batch 64, 100 epochs,
images in [-1, 1], one discriminator update then one generator update per batch.

Options, off by default, go beyond the reports:
- DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN
  Training"): the same random, differentiable colour / translation / cutout changes applied to
  every image the discriminator sees, real and generated, so it cannot memorise a small data set;
- spectral normalisation of the discriminator (Miyato et al. 2018);
- an exponential moving average of the generator's weights, sampled instead of the generator
  itself (Yazici et al. 2019, "The Unusual Effectiveness of Averaging in GAN Training");
- the R1 penalty, (gamma / 2) * |grad_x D(x)|^2 on real images, added to D's loss (Mescheder et al.
  2018, "Which Training Methods for GANs do actually Converge?"): D's answer may not change steeply
  around the real images, which damps the game's oscillation and keeps D from winning on detail;
- from R3GAN (Huang et al. 2024, "The GAN is dead; long live the GAN! A Modern GAN Baseline"): the
  relativistic pairing loss (`loss="relativistic"`, RpGAN: D scores each real image above a generated
  one), the same penalty on generated images (R2, `r2_gamma`), and a D without BatchNorm
  (`d_batchnorm=False`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

from labutils.config import GANConfig
from labutils.data.gan_data import GANData, gan_loader, load_gan_data
from labutils.data.loaders import CHANNELS_LAST_DEVICES, TensorLoader
from labutils.fingerprint import code_fingerprint
from labutils.models.gan import Discriminator, Generator
from labutils.models.sampling import generate, noise
from labutils.runtime import checkpoint_path, get_device, set_seed
from labutils.training.engine import History, Trainer, resolve_mixed_precision
from labutils.training.gan_step import GANStep
from labutils.training.gan_watch import GANWatch
from labutils.training.loop import train_loop


@dataclass(frozen=True)
class GANParts:
    """The code that trains a GAN: the two networks' classes, the step and the loop (notebook 01's).
    Notebook 04 passes its own; a run's checkpoint is named after this code too, so edited code trains anew."""

    generator: type = Generator
    discriminator: type = Discriminator
    step: type = GANStep
    loop: Callable = train_loop

    def fingerprint(self) -> str:
        return code_fingerprint(self.generator, self.discriminator, self.step, self.loop)


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
    watch: GANWatch  # what the engine recorded after each epoch
    loaded: bool = False  # True: a finished checkpoint of this config and code was loaded, nothing trained

    @property
    def snapshots(self) -> list[torch.Tensor]:
        """The fixed-noise batch after each epoch, uint8 (64, C, S, S) each."""
        return self.watch.snapshots

    def sample(self, n: int, seed: int = 0) -> torch.Tensor:
        """n generated images in [-1, 1] on the CPU, (n, C, S, S), from seeded noise."""
        return generate(self.generator, noise(n, self.config.latent_dim, seed)).cpu()


def build_gan(config: GANConfig, device: torch.device, parts: GANParts = GANParts()) -> tuple[Generator, Discriminator]:
    """The two networks that `config` describes, DCGAN-initialised, on `device`."""
    generator = parts.generator(config.latent_dim, config.image_size, config.channels, kind=config.generator,
                                width=config.g_width, hidden_dims=config.g_hidden_dims, extra_layers=config.extra_layers)
    discriminator = parts.discriminator(config.image_size, config.channels, width=config.d_width,
                                        extra_layers=config.extra_layers, spectral_norm=config.spectral_norm,
                                        batchnorm=config.d_batchnorm)
    return generator.to(device), discriminator.to(device)


def build_gan_step(config: GANConfig, device: torch.device, parts: GANParts = GANParts()) -> GANStep:
    """Networks and optimisers that `config` describes, seeded, as one step (`parts.step`) on `device`."""
    set_seed(config.seed)
    generator, discriminator = build_gan(config, device, parts)
    return parts.step(generator, discriminator, config)


# bf16 autocast ("auto") also on CPUs that compute bf16 natively: there a GAN update runs 1.6-1.8x
# faster (`make bench`), and at an equal budget the final distance stayed within the seeds' spread
# (`python -m labtools.bench_machine --precision-study`; docs/performance.md).
BF16_ON_CPU = True


def tune_for_device(step: GANStep, config: GANConfig, device: torch.device) -> None:
    """Mixed precision as configured (bf16 changes rounding, nothing else), the NHWC layout where
    convolutions run faster in it, cuDNN's autotuner on CUDA, and `torch.compile` when asked: how fast,
    not what, is computed."""
    step.autocast_dtype = resolve_mixed_precision(config.mixed_precision, device, bf16_on_cpu=BF16_ON_CPU)
    if device.type == "cuda" and not torch.are_deterministic_algorithms_enabled():
        # The GAN's shapes never change: cuDNN times its convolution algorithms once per shape, keeps the fastest.
        torch.backends.cudnn.benchmark = True
    if device.type in CHANNELS_LAST_DEVICES:  # batches follow in gan_loader
        for module in step.modules.values():
            module.to(memory_format=torch.channels_last)
    if config.compile:  # in place: the state_dicts keep their plain names (the EMA copy stays eager)
        step.generator.compile()
        step.discriminator.compile()


def train_gan(config: GANConfig, progress: bool = True, retrain: bool = False, data: GANData | None = None,
              verbose: bool = True, continue_from: int | None = None, parts: GANParts = GANParts()) -> TrainedGAN:
    """Train the GAN that `config` describes, or load its finished checkpoint (resume a partial one).

    `data` may be passed in to reuse images already loaded (it must match `config`). `verbose=False`
    silences the headless per-epoch lines (the options study prints one line per run instead).
    `continue_from=N` trains on from the checkpoint of the same config with N epochs instead of from
    the start, e.g. to take a 100-epoch run to 200: the same result, as nothing in training depends
    on the number of epochs (the learning rate is constant; EMA's warm-up counts updates). `parts`:
    the networks' and the step's classes (the package's, the code of notebook 04, by default). A published
    run that is not here is downloaded (`training.published`), unless `retrain`.
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
    step = build_gan_step(config, device, parts=parts)
    tune_for_device(step, config, device)
    loader = gan_loader(data, config, device)
    code = parts.fingerprint()
    path = checkpoint_path(config.run_id(code=code))
    if retrain:
        path.unlink(missing_ok=True)
    shorter = checkpoint_path(config.replace(num_epochs=continue_from).run_id(code=code)) if continue_from else None
    watch = GANWatch(config, real_images=images)  # real images: the in-training distance (config.swd_every)
    trainer = Trainer(step, loader, config.num_epochs, checkpoint_path=path, config={**config.identity(), "code": code},
                      progress=progress, verbose=verbose, continue_from=shorter, loop=parts.loop, watch=watch,
                      download=not retrain)
    history = trainer.fit()
    # The last epoch's end again (its BatchNorm re-estimation, same seed: nothing changes for a run trained
    # here), so that a loaded checkpoint is sampled with the statistics of its own weights.
    step.end_epoch(len(history))
    return TrainedGAN(step.sampler, step.discriminator, config, history, path, device, step, loader, data, watch,
                      loaded=trainer.loaded_complete)
