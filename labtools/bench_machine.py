"""`make bench`'s measurements of the machine around the lab's training, beside `labtools.bench`'s
comparison with the usual way of writing it:

- a busy machine: the same training while another lab training runs beside it (the CPU share
  policy of `runtime.CPUShare` at work);
- the hardware's limit: the FLOPs of one GAN update (`torch.utils.flop_counter`), the update's
  FLOP rate, and the machine's measured matmul and convolution peak in the same run;
- bf16 autocast against float32 for the GAN's update, where this device computes bf16 natively;
- the in-training distance's share of the GAN's training time, in the quick profile's set-up;
- on request, bf16 against fp32 for the GAN's training at an equal budget (minutes, not in `make bench`).

    python -m labtools.bench_machine --load    # train the VAE until stopped: the "other training"
    python -m labtools.bench_machine --precision-study outputs/precision.json --epochs 30 --seeds 0,1
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from labtools import subprocess_env
from labtools.bench_common import lab_gan, sync

BUSY_START_TIMEOUT_S = 120  # the other training must have started (imported torch, loaded MNIST) by then


# -- a busy machine ------------------------------------------------------------------------------
def train_until_stopped() -> None:
    """Train the lab's VAE on MNIST epoch after epoch, through the lab's engine, until killed."""
    from labutils.config import VAEConfig
    from labutils.data.loaders import mnist_loaders
    from labutils.data.mnist import load_mnist
    from labutils.models import VAE
    from labutils.runtime import get_device
    from labutils.training.engine import Trainer
    from labutils.training.steps import VAEStep

    config, device = VAEConfig(), get_device("auto")
    train, _ = mnist_loaders(load_mnist(), config, device)
    step = VAEStep(VAE().to(device), config)
    Trainer(step, train, num_epochs=10**6, progress=False, verbose=False).fit()


@contextmanager
def another_training() -> Iterator[None]:
    """While active, a second process trains the VAE beside whatever this process measures."""
    from labutils.runtime import trainings_running

    before = trainings_running()
    load = subprocess.Popen([sys.executable, "-m", "labtools.bench_machine", "--load"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        deadline = time.monotonic() + BUSY_START_TIMEOUT_S
        while trainings_running() <= before:  # it registers when its training starts
            if load.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the other training did not start: {load.stderr.read()[-2000:]}")
            time.sleep(0.2)
        yield
    finally:
        load.terminate()
        load.wait()


# -- the hardware's limit ------------------------------------------------------------------------
def _rate(run, flops: float, repeats: int = 5) -> float:
    """GFLOP/s of `run()` doing `flops`, best of `repeats` after a warm-up."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return flops / best / 1e9


def peak_gflops(device, dtype) -> dict[str, float]:
    """The machine's measured peak in `dtype`: a 2048 x 2048 matmul, and the GAN discriminator's
    widest convolution at batch 64 (forward), in GFLOP/s."""
    import torch
    import torch.nn.functional as F

    n = 2048
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    x = torch.randn(64, 256, 8, 8, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    w = torch.randn(512, 256, 4, 4, device=device, dtype=dtype).to(memory_format=torch.channels_last)
    conv_flops = 2 * 64 * 512 * 4 * 4 * 256 * 4 * 4  # (B, 512, 4, 4) outputs, 256 x 4 x 4 taps each

    def synced(fn):
        def run():
            fn()
            if device.type == "cuda":
                torch.cuda.synchronize()
        return run

    with torch.no_grad():
        return {"matmul": _rate(synced(lambda: a @ b), 2 * n ** 3),
                "convolution": _rate(synced(lambda: F.conv2d(x, w, stride=2, padding=1)), conv_flops)}


def gan_update(device, image_size: int = 64, mixed_precision: str = "off", updates: int = 10) -> dict:
    """One lab GAN update (the reports' set-up): its FLOPs and its time, median of `updates`."""
    import statistics

    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from labutils.config import GANConfig

    config = GANConfig(image_size=image_size, device=str(device), mixed_precision=mixed_precision)
    torch.manual_seed(0)
    step, loader = lab_gan(config, device)
    batches = iter(loader)
    step.train(True)
    for _ in range(2):  # warm-up: oneDNN / cuDNN pick their kernels on first use
        step.train_step(next(batches))
    counter = FlopCounterMode(display=False)
    with counter:
        step.train_step(next(batches))
    seconds = []
    for _ in range(updates):
        batch = next(batches, None) or next(iter(loader))
        start = time.perf_counter()
        step.train_step(batch)
        sync(device)
        seconds.append(time.perf_counter() - start)
    return {"gflop": counter.get_total_flops() / 1e9, "seconds": statistics.median(seconds)}


NOT_NATIVE = "not measured: no native bf16"  # emulated bf16 takes minutes where fp32 takes seconds


def gan_against_peak(device, image_size: int = 64, updates: int = 10) -> dict:
    """The GAN update's FLOP rate as a share of the machine's measured peak, in float32 and, where the
    device computes bf16 natively, with bf16 autocast; `share_of_peak` is that of the precision the lab
    trains in here ("auto")."""
    import torch

    from labutils.config import GANConfig
    from labutils.training.engine import has_native_bf16, resolve_mixed_precision
    from labutils.training.gan import BF16_ON_CPU

    precisions = [("fp32", "off", torch.float32)]
    if has_native_bf16(device):
        precisions.append(("bf16", "bf16", torch.bfloat16))
    by_precision: dict = {"bf16": {"not_measured": NOT_NATIVE}}
    for name, setting, dtype in precisions:
        update = gan_update(device, image_size, mixed_precision=setting, updates=updates)
        peak = peak_gflops(device, dtype)
        rate = update["gflop"] / update["seconds"]
        by_precision[name] = {"update_s": update["seconds"], "gflop_per_s": rate, "peak_gflop_per_s": peak,
                              "share_of_peak": rate / max(peak.values()), "gflop": update["gflop"]}
    auto = resolve_mixed_precision(GANConfig().mixed_precision, device, bf16_on_cpu=BF16_ON_CPU)
    lab = "bf16" if auto == torch.bfloat16 else "fp32"
    bf16 = by_precision["bf16"]
    return {"image_size": image_size, "update_gflop": by_precision["fp32"]["gflop"], "lab_precision": lab,
            "share_of_peak": by_precision[lab]["share_of_peak"],
            "bf16_speedup": by_precision["fp32"]["update_s"] / bf16["update_s"] if "update_s" in bf16 else None,
            **by_precision}


# -- the in-training distance --------------------------------------------------------------------
def monitor_share(device, image_size: int = 32, limit: int | None = None) -> dict:
    """What the GAN's in-training distance costs beside an epoch of training, in the quick profile's
    set-up (the art at 32 px): one epoch of training, one measurement, and the measurement's share
    of the training time with the config's `swd_every`."""
    import torch

    from labutils.config import GANConfig
    from labutils.data.gan_data import gan_loader, load_gan_data
    from labutils.training.engine import Trainer
    from labutils.training.gan import build_gan_step, tune_for_device
    from labutils.training.gan_watch import GANWatch

    config = GANConfig(image_size=image_size, device=str(device), train_size=limit)
    data = load_gan_data(config)
    torch.manual_seed(0)
    step = build_gan_step(config, device)
    tune_for_device(step, config, device)
    watch = GANWatch(config, real_images=data.images)
    monitor, watch.swd_monitor = watch.swd_monitor, None  # the epoch alone first
    start = time.perf_counter()
    Trainer(step, gan_loader(data, config, device), num_epochs=1, progress=False, verbose=False, watch=watch).fit()
    epoch_s = time.perf_counter() - start
    monitor(step.sampler)  # the first call also prepares the real side, once per run
    start = time.perf_counter()
    monitor(step.sampler)
    measure_s = time.perf_counter() - start
    per_epoch = measure_s / config.swd_every
    return {"image_size": image_size, "epoch_s": epoch_s, "measurement_s": measure_s,
            "swd_every": config.swd_every, "monitor_share": per_epoch / (epoch_s + per_epoch)}


# -- bf16 against fp32 at an equal budget --------------------------------------------------------
def precision_study(epochs: int = 30, seeds: tuple[int, ...] = (0, 1), image_size: int = 32) -> dict:
    """Train the reports' GAN on the art in float32 and with bf16 autocast, for the same epochs, seeds,
    images and noise, and measure each one's final distance to the real images (SWD x 10^3 on 1024
    images per set, with its floor). The seeds give the spread a precision's difference is read against.
    Checkpoints go to a temporary outputs tree: precision does not name a run, so the two would share one."""
    import os
    import tempfile

    from labutils.config import GANConfig
    from labutils.data.gan_data import load_gan_data
    from labutils.metrics.images import swd_against_floor
    from labutils.models.sampling import to_uint8
    from labutils.training.gan import train_gan

    data = load_gan_data(GANConfig(image_size=image_size))
    n = min(1024, len(data.images) // 2)
    runs = []
    with tempfile.TemporaryDirectory() as outputs:
        previous, os.environ["LAB_OUTPUTS"] = os.environ.get("LAB_OUTPUTS"), outputs
        try:
            for seed in seeds:
                for precision in ("off", "bf16"):
                    config = GANConfig(image_size=image_size, num_epochs=epochs, seed=seed, device="cpu",
                                       mixed_precision=precision, swd_every=0)
                    run = train_gan(config, progress=False, verbose=False, data=data, retrain=True)
                    fake = to_uint8(run.sample(n, seed=1000 + seed))
                    measured = swd_against_floor(data.images, fake, n, seed=seed)
                    runs.append({"seed": seed, "precision": precision, "train_seconds": run.history.total_seconds,
                                 "swd": measured["swd"]["average"], "swd_floor": measured["floor"]["average"]})
                    print(json.dumps(runs[-1]), flush=True)
        finally:
            os.environ.pop("LAB_OUTPUTS") if previous is None else os.environ.update(LAB_OUTPUTS=previous)
    return {"epochs": epochs, "image_size": image_size, "images": n, "runs": runs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--load", action="store_true", help="train the VAE until stopped")
    parser.add_argument("--precision-study", metavar="JSON", type=Path,
                        help="bf16 against fp32 for the GAN at an equal budget, written to JSON")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", default="0,1")
    args = parser.parse_args(argv)
    if args.load:
        train_until_stopped()
    if args.precision_study:
        seeds = tuple(int(s) for s in args.seeds.split(","))
        args.precision_study.write_text(json.dumps(precision_study(args.epochs, seeds), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
