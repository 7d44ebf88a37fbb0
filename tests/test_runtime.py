import json
import os
import random

import numpy as np
import pytest
import torch

from labutils import runtime


def test_set_seed_makes_python_numpy_and_torch_repeatable():
    runtime.set_seed(7)
    first = (random.random(), np.random.rand(), torch.rand(1).item())
    runtime.set_seed(7)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == first


@pytest.mark.parametrize("cuda, mps, expected", [
    (True, True, "cuda"), (False, True, "mps"), (False, False, "cpu"),
])
def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch, cuda, mps, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    fake_gpu(monkeypatch, capability=(8, 0), arch_list=["sm_80", "sm_90"])
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert runtime.get_device("auto") == torch.device(expected)
    assert runtime.get_device(" CPU ") == torch.device("cpu")


def fake_gpu(monkeypatch, capability, arch_list, name="Test GPU"):
    """A CUDA device of `capability` and a torch build for `arch_list`, as torch.cuda reports them."""
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "get_arch_list", lambda: list(arch_list))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: name)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(runtime, "_FALLBACKS_REPORTED", set())


KAGGLE_DEFAULT_TORCH = ["sm_70", "sm_75", "sm_80", "sm_86", "sm_90", "compute_90"]


def test_a_gpu_this_torch_has_no_kernels_for_falls_back_to_the_cpu_and_says_why(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    fake_gpu(monkeypatch, capability=(6, 0), arch_list=KAGGLE_DEFAULT_TORCH, name="Tesla P100-PCIE-16GB")
    assert runtime.get_device("auto") == torch.device("cpu")
    assert capsys.readouterr().out == (
        "CUDA device Tesla P100-PCIE-16GB (sm_60) is not supported by this torch build (built for sm_70..sm_90 "
        "and PTX compute_90): training on the CPU; install a torch built for sm_60 or use device='cpu'\n")
    assert runtime.get_device("auto") == torch.device("cpu") and capsys.readouterr().out == ""  # said once
    for explicit in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=r"Tesla P100-PCIE-16GB \(sm_60\) is not supported by this torch "
                                             r"build.*install a torch built for sm_60 or use device='cpu'"):
            runtime.get_device(explicit)


@pytest.mark.parametrize("capability, arch_list, supported", [
    ((6, 0), KAGGLE_DEFAULT_TORCH, False),        # Kaggle's P100
    ((7, 5), KAGGLE_DEFAULT_TORCH, True),         # a T4: its own binary kernels
    ((8, 9), ["sm_80", "sm_86"], True),           # an L4: sm_86's binaries run on later minors of 8
    ((9, 0), ["sm_80", "sm_86"], False),          # no binary of major 9, no PTX
    ((12, 0), KAGGLE_DEFAULT_TORCH, True),        # PTX compute_90, compiled by the driver for 12.0
    ((8, 0), ["sm_86", "compute_86"], False),     # neither runs on an earlier capability
    ((9, 0), ["sm_90a"], True),                   # an arch-specific binary: 9.0 alone
    ((10, 0), ["sm_90a", "sm_80"], False),
])
def test_a_cuda_device_is_supported_where_a_binary_or_ptx_of_the_build_runs_on_it(monkeypatch, capability,
                                                                                  arch_list, supported):
    fake_gpu(monkeypatch, capability, arch_list)
    assert (runtime.unsupported_cuda_device() is None) == supported


def test_a_build_that_names_no_cuda_architecture_is_not_judged(monkeypatch):
    fake_gpu(monkeypatch, capability=(6, 0), arch_list=["gfx90a", "gfx942"])  # ROCm
    assert runtime.unsupported_cuda_device() is None


def test_a_cuda_device_number_this_machine_lacks_is_refused(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    fake_gpu(monkeypatch, capability=(8, 0), arch_list=["sm_80"])
    assert runtime.get_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(ValueError, match=r"'cuda:1' but this machine has 1 CUDA device\(s\), cuda:0..cuda:0"):
        runtime.get_device("cuda:1")


def test_unknown_or_missing_devices_are_refused_with_the_fix(monkeypatch):
    with pytest.raises(ValueError, match="Unknown device 'gpu0'.*use 'auto', 'cpu'"):
        runtime.get_device("gpu0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available here: use 'auto' or 'cpu'"):
        runtime.get_device("cuda")


def test_repo_root_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    root = runtime.repo_root()
    monkeypatch.chdir(tmp_path)
    assert runtime.repo_root() == root
    assert (root / "pyproject.toml").exists()


def test_lab_outputs_moves_the_outputs_tree(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path / "elsewhere"))
    assert runtime.outputs_dir("metrics") == tmp_path / "elsewhere" / "metrics"
    assert (tmp_path / "elsewhere" / "metrics").is_dir()


def test_an_interrupted_atomic_write_leaves_the_old_file_whole(tmp_path):
    path = runtime.save_atomically({"epoch": 1}, tmp_path / "run.pt")

    def fails_halfway(partial):
        partial.write_bytes(b"half a checkpo")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        runtime.write_atomically(path, fails_halfway)
    assert torch.load(path) == {"epoch": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["run.pt"]  # and no partial file left beside it


def test_checkpoints_live_under_the_outputs_tree_by_run_id(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    assert runtime.checkpoint_path("vae-1a2b3c4d") == tmp_path / "checkpoints" / "vae-1a2b3c4d.pt"


def test_trainings_share_the_threads_they_would_use_alone(tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    before = torch.get_num_threads()
    with runtime.CPUShare(tmp_path) as share:
        alone = share.threads_alone
        assert share.threads() == alone and torch.get_num_threads() == alone
        (tmp_path / f"{os.getppid()}.pid").touch()  # another training, alive: the parent process
        assert share.update() == max(1, alone // 2) == torch.get_num_threads()
        (tmp_path / "999999999.pid").touch()  # a training that ended without saying so
        assert runtime.trainings_running(tmp_path) == 2 and not (tmp_path / "999999999.pid").exists()
    assert not (tmp_path / f"{os.getpid()}.pid").exists()
    assert torch.get_num_threads() == before


def test_lab_threads_fixes_the_count_whatever_else_trains(tmp_path, monkeypatch):
    monkeypatch.setenv(runtime.THREADS_ENV, "1")
    before = torch.get_num_threads()
    (tmp_path / f"{os.getppid()}.pid").touch()
    with runtime.CPUShare(tmp_path) as share:
        assert share.update() == 1 == torch.get_num_threads()
    assert torch.get_num_threads() == before


def test_progress_goes_to_the_side_file_only_when_a_run_asks_for_it(tmp_path, monkeypatch):
    monkeypatch.delenv(runtime.PROGRESS_ENV, raising=False)
    runtime.report_progress(run="ae", epoch=1)  # nowhere to write: nothing happens
    monkeypatch.setenv(runtime.PROGRESS_ENV, str(tmp_path / "p.jsonl"))
    runtime.report_progress(run="ae", epoch=1)
    runtime.report_progress(run="ae", epoch=2)
    events = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in events] == [1, 2] and all("time" in e for e in events)
