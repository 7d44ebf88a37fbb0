"""The benchmark is a command, not a test: this only checks that it runs and reports what it must."""
import json
import subprocess
import sys

import pytest
import torch

from labtools import subprocess_env
from labtools.bench import _category, format_table
from labutils.training.engine import has_native_bf16


def test_bench_runs_on_a_tiny_size_and_reports_the_ratio(tmp_path):
    # The GAN alone through the command (its pipelines, the busy case, the hardware, the monitor, the
    # explorers); the MNIST models' pipelines are measured in this process below.
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "labtools.bench", "--models", "gan", "--limit", "128",
                    "--image-size", "32", "--json", str(out)], check=True, capture_output=True, text=True, timeout=600,
                   env=subprocess_env())
    results = json.loads(out.read_text())
    assert results["images_per_epoch_limit"] == 128 and list(results["models"]) == ["gan"]
    row = results["models"]["gan"]
    assert row["lab_images_per_s"] > 0 and row["reference_images_per_s"] > 0
    # Both pipelines did the same work: one epoch of the 128 images asked for (two full batches), so
    # their rates compare like with like.
    for pipeline in ("lab", "reference"):
        assert row[f"{pipeline}_images_per_s"] * row[f"{pipeline}_epoch_s"] == pytest.approx(128)
    assert row["lab_peak_rss_mb"] > 0
    assert row["busy_slowdown"] == pytest.approx(row["busy_epoch_s"] / row["lab_epoch_s"])
    hardware, gan = results["gan_hardware"], results["models"]["gan"]
    # bf16 is timed only where this CPU computes it natively (LAB_NATIVE_BF16=0 says it does not).
    assert ("not_measured" in hardware["bf16"]) is not has_native_bf16(torch.device("cpu"))
    # A DCGAN update at batch 64 is about 146 GFLOP at 64 px and 25 GFLOP at 32 px (one block fewer on
    # each side): the counter saw the whole update.
    assert results["gan_image_size"] == hardware["image_size"] == 32
    assert 15 < hardware["update_gflop"] < 35
    assert 0 < gan["share_of_peak"] < 1.5  # well above the measured peak would be a mismeasurement
    assert 0 < gan["monitor_share"] < 1 and results["gan_monitor"]["measurement_s"] > 0
    # Every notebook's explorer was timed (01, 02 twice, 03, 04 twice), each render a positive time.
    assert sorted(name[:2] for name in results["explorer_seconds"]) == ["01", "02", "02", "03", "04", "04"]
    assert all(seconds > 0 for seconds in results["explorer_seconds"].values())
    shares = results["gan_profile"]
    assert sum(shares.values()) == pytest.approx(1.0)
    convolutions = shares.pop("convolutions, forward") + shares.pop("convolutions, backward")
    assert convolutions > max(shares.values())  # a DCGAN step is mostly convolutions


@pytest.mark.parametrize("kind", ["ae", "vae"])
def test_both_mnist_pipelines_train_the_same_images(kind):
    from labtools.bench import _measure_mnist

    for pipeline in ("lab", "reference"):
        measured = _measure_mnist(kind, pipeline, torch.device("cpu"), epochs=1, limit=256)
        assert measured["images"] == 256 and measured["seconds"] > 0


@pytest.mark.parametrize("op, category", [
    ("aten::convolution_backward", "convolutions, backward"), ("aten::mkldnn_convolution", "convolutions, forward"),
    ("aten::cudnn_convolution_transpose", "convolutions, forward"),
    ("aten::native_batch_norm_backward", "BatchNorm"), ("aten::leaky_relu_backward", "activations"),
    ("aten::_fused_adam_", "Adam"), ("Optimizer.step#Adam.step", "Adam"),
    ("aten::binary_cross_entropy_with_logits", "losses"), ("aten::index_select", "batches and noise"),
    ("aten::empty", "other"),
])
def test_profile_categories(op, category):
    assert _category(op) == category


def test_another_training_runs_beside_while_the_busy_case_is_measured():
    from labtools.bench_machine import another_training
    from labutils.runtime import trainings_running

    before = trainings_running()
    with another_training():
        assert trainings_running() == before + 1
    assert trainings_running() == before



@pytest.mark.parametrize("native", [True, False])
def test_the_gan_update_is_timed_in_bf16_only_where_the_device_has_it_natively(monkeypatch, native):
    from labtools import bench_machine
    from labutils.training import engine

    timed = []

    def fake_update(device, image_size, mixed_precision, updates):
        timed.append(mixed_precision)
        return {"gflop": 146.0, "seconds": 2.0 if mixed_precision == "off" else 1.0}

    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: native)
    monkeypatch.setattr(bench_machine, "gan_update", fake_update)
    monkeypatch.setattr(bench_machine, "peak_gflops", lambda device, dtype: {"matmul": 200.0, "convolution": 100.0})
    hardware = bench_machine.gan_against_peak(torch.device("cpu"), updates=1)
    assert timed == (["off", "bf16"] if native else ["off"])
    assert hardware["lab_precision"] == ("bf16" if native else "fp32")
    assert hardware["share_of_peak"] == pytest.approx(146.0 / (1.0 if native else 2.0) / 200.0)
    assert hardware["bf16_speedup"] == (pytest.approx(2.0) if native else None)
    table = format_table({"device": "cpu", "repeats": 1, "models": {}, "gan_hardware": hardware})
    assert ("bf16: not measured: no native bf16" in table) is not native
    assert ("bf16 autocast: 2.00x" in table) is native
