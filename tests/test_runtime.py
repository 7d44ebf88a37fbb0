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


def test_auto_device_and_refusals():
    assert runtime.get_device("auto").type in ("cpu", "cuda", "mps")
    assert runtime.get_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="Unknown device 'gpu0'"):
        runtime.get_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
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
