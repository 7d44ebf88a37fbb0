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
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    assert runtime.get_device("auto") == torch.device(expected)
    assert runtime.get_device(" CPU ") == torch.device("cpu")


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


def test_checkpoints_live_under_the_outputs_tree_by_run_id(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_OUTPUTS", str(tmp_path))
    assert runtime.checkpoint_path("vae-1a2b3c4d") == tmp_path / "checkpoints" / "vae-1a2b3c4d.pt"
