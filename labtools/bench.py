"""`make bench`: the lab's training pipeline against the usual way of writing the same training.

    python -m labtools.bench                # table on the current device
    python -m labtools.bench --json out.json --repeats 3

For identical models and hyperparameters, on the same device, in one run:

- AE and VAE: images/s over full MNIST epochs; the reference is pytorch/examples' way:
  `datasets.MNIST` with `transforms.ToTensor()` through a shuffling `DataLoader`, a plain
  `torch.optim.Adam` and a `loss.item()` every step;
- GAN: images/s of the lab's pipeline against `ImageFolder` with resize/crop/normalise
  transforms and a `DataLoader` with workers, reading the image files, plain Adam and NCHW;

plus the time of one epoch, the projected time of the full profile, and peak memory (RSS;
GPU memory on CUDA). Each measurement runs in a fresh subprocess, so peak memory is its own,
and lab and reference alternate, so that machine noise hits both alike. `labtools.bench_machine`
adds the lab's epoch with another lab training beside it, the GAN update against the machine's
measured peak (float32, and bf16 where the device has it natively), and the in-training
distance's share of the GAN's training; `labtools.bench_explore` how long each notebook's
explorer takes to answer a slider's move.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from labtools import subprocess_env
from labtools.bench_common import lab_gan, sync

MODELS = ("ae", "vae", "gan")
PIPELINES = ("lab", "reference")


# -- one measurement, in its own process ---------------------------------------------------------
def _mnist_models(kind: str, device):
    import torch

    from labutils.config import AEConfig, VAEConfig
    from labutils.models import VAE, Autoencoder
    from labutils.training.engine import resolve_mixed_precision
    from labutils.training.steps import AutoencoderStep, VAEStep

    torch.manual_seed(0)
    if kind == "ae":
        model, config = Autoencoder().to(device), AEConfig()
        step = AutoencoderStep(model, config)
    else:
        model, config = VAE().to(device), VAEConfig()
        step = VAEStep(model, config)
    step.autocast_dtype = resolve_mixed_precision(config.mixed_precision, device)  # as training does
    return model, step


def _measure_mnist(kind: str, pipeline: str, device, epochs: int, limit: int | None, batch_size: int = 128) -> dict:
    import torch
    from torch.utils.data import DataLoader, Subset
    from torchvision import datasets, transforms

    from labutils.data.loaders import TensorLoader, to_unit_interval
    from labutils.data.mnist import load_mnist
    from labutils.runtime import data_dir
    from labutils.training.engine import Trainer

    mnist = load_mnist()  # makes sure the IDX files exist for both pipelines
    n = limit or len(mnist.train_images)
    model, step = _mnist_models(kind, device)
    if pipeline == "lab":
        loader = TensorLoader(mnist.train_images[:n], mnist.train_labels[:n], batch_size=batch_size, shuffle=True,
                              transform=to_unit_interval, device=device)
        trainer = Trainer(step, loader, num_epochs=epochs, progress=False, log_every=10**9)
        start = time.perf_counter()
        trainer.fit()
        sync(device)
        seconds = time.perf_counter() - start
    else:
        dataset = Subset(datasets.MNIST(data_dir(), train=True, download=False, transform=transforms.ToTensor()),
                         range(n))
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=True,
                            **({"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)  # the usual optimiser, not the lab's fused one
        start = time.perf_counter()
        for _ in range(epochs):
            model.train()
            total = 0.0
            for x, _ in loader:
                x = x.to(device).flatten(1)
                optimizer.zero_grad()
                if kind == "ae":
                    loss = torch.nn.functional.mse_loss(model(x), x)
                else:
                    from labutils.models import vae_loss
                    x_hat, mu, logvar = model(x)
                    loss = vae_loss(x_hat, x, mu, logvar)[0]
                loss.backward()
                optimizer.step()
                total += loss.item()
        seconds = time.perf_counter() - start
    return {"images": epochs * n, "seconds": seconds, "epochs": epochs}


def _measure_gan(pipeline: str, device, epochs: int, limit: int | None, image_size: int = 64) -> dict:
    import torch
    from torch.utils.data import DataLoader
    from torchvision import datasets, transforms

    from labutils.config import GANConfig
    from labutils.training.engine import Trainer
    from labutils.training.gan import build_gan_step

    config = GANConfig(image_size=image_size, device=str(device), train_size=limit)
    torch.manual_seed(0)
    if pipeline == "lab":
        step, loader = lab_gan(config, device)
        trainer = Trainer(step, loader, num_epochs=epochs, progress=False, log_every=10**9)
        start = time.perf_counter()
        trainer.fit()
        sync(device)
        seconds = time.perf_counter() - start
        images = epochs * len(loader) * config.batch_size
    else:
        step = build_gan_step(config, device)
        folder = _image_folder(limit)
        transform = transforms.Compose([
            transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize((0.5,) * 3, (0.5,) * 3),
        ])
        loader = DataLoader(datasets.ImageFolder(str(folder), transform=transform), batch_size=config.batch_size,
                            shuffle=True, drop_last=True, num_workers=2, pin_memory=device.type == "cuda",
                            persistent_workers=True)
        # The usual optimisers and memory layout; the same networks, losses and update order.
        betas = (config.beta1, config.beta2)
        step.opt_g = torch.optim.Adam(step.generator.parameters(), lr=config.lr, betas=betas)
        step.opt_d = torch.optim.Adam(step.discriminator.parameters(), lr=config.lr, betas=betas)
        step.train(True)
        start = time.perf_counter()
        images = 0
        for _ in range(epochs):
            for x, _ in loader:
                metrics = step.train_step((x.to(device),))
                for value in metrics.values():
                    value.item()  # the usual per-step logging: a host-device sync every step on a GPU
                images += x.shape[0]
        seconds = time.perf_counter() - start
    return {"images": images, "seconds": seconds, "epochs": epochs}


def _image_folder(limit: int | None = None) -> Path:
    """A folder of image files for `ImageFolder`: the real art where it is in data/, else the
    stand-in written once as 256x256 JPEGs, the Kaggle data's size and format (`limit` of them)."""
    from labutils.data.art import find_art_folder
    from labutils.runtime import data_dir

    real = find_art_folder()
    if real is not None and limit is None:
        return real
    folder = data_dir("cache", f"bench_imagefolder_{limit or 'all'}")
    images_dir = folder / "standin"
    if not images_dir.exists() or not any(images_dir.iterdir()):
        from PIL import Image

        from labutils.data.standin import make_standin_art

        images_dir.mkdir(parents=True, exist_ok=True)
        for i, image in enumerate(make_standin_art(limit or 2872, image_size=128)):
            Image.fromarray(image.permute(1, 2, 0).numpy()).resize((256, 256), Image.BICUBIC).save(
                images_dir / f"Abstract_image_{i}.jpg", quality=90)
    return folder


def _worker(model: str, pipeline: str, device_name: str, epochs: int, limit: int | None,
            image_size: int = 64) -> dict:
    import torch

    from labutils.runtime import get_device

    device = get_device(device_name)
    if model == "gan":
        result = _measure_gan(pipeline, device, epochs, limit, image_size)
    else:
        result = _measure_mnist(model, pipeline, device, epochs, limit)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.type == "cuda":
        result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return result


# -- where the GAN's time goes ------------------------------------------------------------------
PROFILE_CATEGORIES = (  # (category, substrings of aten op names), first match wins
    ("convolutions, backward", ("convolution_backward",)),
    ("convolutions, forward", ("convolution",)),
    ("BatchNorm", ("batch_norm",)),
    ("activations", ("relu", "threshold", "tanh", "sigmoid")),
    ("Adam", ("adam", "optimizer")),
    ("losses", ("binary_cross_entropy",)),
    ("batches and noise", ("index", "flip", "where", "div", "sub_", "rand", "uniform")),
)


def _category(op_name: str) -> str:
    name = op_name.lower()
    return next((category for category, keys in PROFILE_CATEGORIES if any(k in name for k in keys)), "other")


def profile_gan(device: str = "auto", iterations: int = 5, image_size: int = 64) -> dict[str, float]:
    """Share of the lab's GAN training step per kind of work: torch.profiler's self time of every
    op (device time on CUDA), over `iterations` steps after a warm-up, grouped by `_category`."""
    from torch.profiler import ProfilerActivity, profile

    from labutils.config import GANConfig
    from labutils.runtime import get_device

    dev = get_device(device)
    config = GANConfig(image_size=image_size, device=str(dev))
    step, loader = lab_gan(config, dev)
    batches = iter(loader)
    step.train(True)
    for _ in range(2):  # warm-up: oneDNN / cuDNN pick their kernels on first use
        step.train_step(next(batches))
    cuda = dev.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with profile(activities=activities) as prof:
        for _ in range(iterations):
            step.train_step(next(batches))
        sync(dev)
    totals: dict[str, float] = {}
    for event in prof.key_averages():
        if not event.key.startswith(("aten::", "Optimizer.")):
            continue
        spent = event.self_device_time_total if cuda else event.self_cpu_time_total
        totals[_category(event.key)] = totals.get(_category(event.key), 0.0) + spent
    whole = sum(totals.values()) or 1.0
    return {k: v / whole for k, v in sorted(totals.items(), key=lambda kv: -kv[1])}


# -- the benchmark ------------------------------------------------------------------------------
def full_profile_epochs() -> dict[str, int]:
    """Epochs of each model in the full profile: the configs' defaults."""
    from labutils.config import AEConfig, GANConfig, VAEConfig

    return {"ae": AEConfig().num_epochs, "vae": VAEConfig().num_epochs, "gan": GANConfig().num_epochs}


def _run_worker(model: str, pipeline: str, device: str, epochs: int, limit: int | None, image_size: int) -> dict:
    command = [sys.executable, "-m", "labtools.bench", "--worker", model, pipeline, "--device", device,
               "--epochs", str(epochs), "--image-size", str(image_size)] + (["--limit", str(limit)] if limit else [])
    out = subprocess.run(
        command,
        capture_output=True, text=True, env=subprocess_env(PYTHONWARNINGS="ignore"),
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker {model}/{pipeline} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_benchmark(models=MODELS, device: str = "auto", epochs: int = 1, repeats: int = 1,
                  limit: int | None = None, image_size: int = 64) -> dict:
    """Measure every model with both pipelines, alternating, `repeats` times; medians reported."""
    from labtools.bench_explore import explorer_response_times
    from labtools.bench_machine import another_training, gan_against_peak, monitor_share
    from labtools.pipeline import git_commit
    from labutils.runtime import describe_device, get_device

    runs: dict[str, dict[str, list[dict]]] = {m: {p: [] for p in PIPELINES} for m in models}
    busy: dict[str, list[dict]] = {m: [] for m in models}  # the lab's training with another beside it
    for _ in range(repeats):
        for model in models:
            for pipeline in PIPELINES:
                runs[model][pipeline].append(_run_worker(model, pipeline, device, epochs, limit, image_size))
            with another_training():
                busy[model].append(_run_worker(model, "lab", device, epochs, limit, image_size))
    full_epochs = full_profile_epochs()
    results = {"device": describe_device(get_device(device)), "date": date.today().isoformat(),
               "git_commit": git_commit(), "epochs_per_measurement": epochs,
               "images_per_epoch_limit": limit, "gan_image_size": image_size, "repeats": repeats, "models": {}}
    for model, by_pipeline in runs.items():
        row = {}
        for pipeline, measurements in by_pipeline.items():
            rates = [m["images"] / m["seconds"] for m in measurements]
            epoch_s = [m["seconds"] / m["epochs"] for m in measurements]
            row[f"{pipeline}_images_per_s"] = statistics.median(rates)
            row[f"{pipeline}_epoch_s"] = statistics.median(epoch_s)
            row[f"{pipeline}_peak_rss_mb"] = max(m["peak_rss_mb"] for m in measurements)
            if "peak_gpu_mb" in measurements[0]:
                row[f"{pipeline}_peak_gpu_mb"] = max(m["peak_gpu_mb"] for m in measurements)
        row["speedup"] = row["lab_images_per_s"] / row["reference_images_per_s"]
        row["full_profile_epochs"] = full_epochs[model]
        row["lab_full_profile_min"] = row["lab_epoch_s"] * full_epochs[model] / 60
        row["reference_full_profile_min"] = row["reference_epoch_s"] * full_epochs[model] / 60
        row["busy_epoch_s"] = statistics.median(m["seconds"] / m["epochs"] for m in busy[model])
        row["busy_slowdown"] = row["busy_epoch_s"] / row["lab_epoch_s"]
        results["models"][model] = row
    if "gan" in models:
        results["gan_profile"] = profile_gan(device, iterations=2 if limit else 5, image_size=image_size)
        dev = get_device(device)
        results["gan_hardware"] = gan_against_peak(dev, image_size, updates=3 if limit else 10)
        results["gan_monitor"] = monitor_share(dev, limit=limit)
        results["models"]["gan"]["share_of_peak"] = results["gan_hardware"]["share_of_peak"]
        results["models"]["gan"]["monitor_share"] = results["gan_monitor"]["monitor_share"]
    results["explorer_seconds"] = explorer_response_times(get_device(device), repeats=3 if limit else 20)
    return results


def format_table(results: dict) -> str:
    header = (f"{'model':<6}{'lab img/s':>11}{'ref img/s':>11}{'speedup':>9}{'lab epoch':>11}{'ref epoch':>11}"
              f"{'lab full':>10}{'ref full':>10}{'lab RSS':>10}{'ref RSS':>10}{'busy epoch':>12}{'busy/quiet':>12}")
    lines = [f"device: {results['device']}  ({results['repeats']} repeat(s), median)", header, "-" * len(header)]
    for model, r in results["models"].items():
        lines.append(
            f"{model:<6}{r['lab_images_per_s']:>11.0f}{r['reference_images_per_s']:>11.0f}{r['speedup']:>8.2f}x"
            f"{r['lab_epoch_s']:>10.2f}s{r['reference_epoch_s']:>10.2f}s"
            f"{r['lab_full_profile_min']:>8.1f}m{r['reference_full_profile_min']:>9.1f}m"
            f"{r['lab_peak_rss_mb']:>8.0f}MB{r['reference_peak_rss_mb']:>8.0f}MB"
            + (f"{r['busy_epoch_s']:>11.2f}s{r['busy_slowdown']:>11.2f}x" if "busy_slowdown" in r else
               f"{'—':>12}{'—':>12}"))  # a bench.json from before the busy case
    epochs = ", ".join(f"{m} {r['full_profile_epochs']} epochs" for m, r in results["models"].items())
    lines.append(f"full = projected training time of the full profile ({epochs}).")
    lines.append("busy = the lab's epoch with another lab training (the VAE) running beside it.")
    if "gan_profile" in results:
        shares = ", ".join(f"{k} {100 * v:.0f}%" for k, v in results["gan_profile"].items() if v >= 0.005)
        lines.append(f"the lab's GAN step, by kind of work (torch.profiler): {shares}.")
    if "gan_hardware" in results:
        h = results["gan_hardware"]
        lines.append(f"GAN update at {h['image_size']} px: {h['update_gflop']:.1f} GFLOP; "
                     f"the lab trains in {h['lab_precision']} here, at {100 * h['share_of_peak']:.0f}% of its peak.")
        for name in ("fp32", "bf16"):
            p = h[name]
            if "not_measured" in p:
                lines.append(f"  {name}: {p['not_measured']}")
                continue
            lines.append(f"  {name}: {p['update_s']:.3f} s = {p['gflop_per_s']:.0f} GFLOP/s, "
                         f"{100 * p['share_of_peak']:.0f}% of the measured peak (matmul "
                         f"{p['peak_gflop_per_s']['matmul']:.0f}, convolution "
                         f"{p['peak_gflop_per_s']['convolution']:.0f} GFLOP/s)")
        if h.get("bf16_speedup"):
            lines.append(f"  bf16 autocast: {h['bf16_speedup']:.2f}x the fp32 update's speed.")
    if "gan_monitor" in results:
        m = results["gan_monitor"]
        lines.append(
            f"GAN in-training distance at {m['image_size']} px: {m['measurement_s']:.2f} s per measurement, "
            f"every {m['swd_every']} epoch(s) of {m['epoch_s']:.2f} s: {100 * m['monitor_share']:.0f}% of "
            f"training time.")
    if "explorer_seconds" in results:
        from labtools.bench_explore import format_response_times

        lines.append(format_response_times(results["explorer_seconds"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of ae,vae,gan")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=1, help="full epochs per measurement")
    parser.add_argument("--repeats", type=int, default=1, help="alternating lab/reference pairs; medians reported")
    parser.add_argument("--limit", type=int, default=None, help="train on the first N images only (for tests)")
    parser.add_argument("--image-size", type=int, default=64, choices=(32, 64, 128),
                        help="the GAN's image size (64: the reports'; the tests take 32, a quarter of the work)")
    parser.add_argument("--json", nargs="?", const="-", default=None,
                        help="write the results as JSON to this file (or stdout when no file is given)")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "PIPELINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(*args.worker, args.device, args.epochs, args.limit, args.image_size)))
        return 0
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(MODELS)
    if unknown:
        parser.error(f"unknown model(s) {sorted(unknown)}: choose from {', '.join(MODELS)}")
    results = run_benchmark(models, args.device, args.epochs, args.repeats, args.limit, args.image_size)
    if args.json == "-":
        print(json.dumps(results, indent=2))
    else:
        print(format_table(results))
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=2))
            print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
