"""What `labtools.bench` and `labtools.bench_machine` both measure with, kept here so that neither
imports the other's internals (bench runs bench_machine's measurements; nothing runs back)."""
from __future__ import annotations


def lab_gan(config, device):
    """The lab's GAN step, tuned for `device`, and its loader: exactly what `train_gan` trains with."""
    from labutils.data.gan_data import gan_loader, load_gan_data
    from labutils.training.gan import build_gan_step, tune_for_device

    step = build_gan_step(config, device)
    tune_for_device(step, config, device)
    return step, gan_loader(load_gan_data(config), config, device)


def sync(device) -> None:
    """Wait for the GPU's queued work, so that a clock read after it counts that work."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()
