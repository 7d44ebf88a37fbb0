"""The engine on hardware it was not trained on, tested on the CPU: precision per GPU, and checkpoints
written on a GPU (its loader's generator state is CUDA's 16 bytes) opened here."""
import pytest
import torch

from labutils.config import VAEConfig
from labutils.data.loaders import TensorLoader
from labutils.models import Autoencoder
from labutils.training import engine
from labutils.training.engine import Trainer
from labutils.training.steps import AutoencoderStep


@pytest.mark.parametrize("capability, expected", [
    ((7, 5), None),             # a T4: bf16 emulated, though torch.cuda.is_bf16_supported() says True
    ((8, 0), torch.bfloat16),   # an A100
    ((9, 0), torch.bfloat16),   # an H100
])
def test_auto_takes_bf16_only_on_gpus_that_compute_it_natively(monkeypatch, capability, expected):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *args, **kwargs: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    cuda = torch.device("cuda")
    assert engine.resolve_mixed_precision("auto", cuda) is expected
    assert engine.resolve_mixed_precision("bf16", cuda) is torch.bfloat16  # asked for: given
    assert engine.resolve_mixed_precision("off", cuda) is None


def _noisy(x, generator):
    """An augmentation that draws from the loader's device generator, so its state matters."""
    return x + 0.01 * torch.rand(x.shape, generator=generator, device=x.device)


def _trainer(path, num_epochs):
    torch.manual_seed(0)
    model = Autoencoder(hidden_dims=(16,), latent_dim=4)
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(0))
    train = TensorLoader(x, batch_size=16, shuffle=True, transform=_noisy, seed=0)
    return Trainer(AutoencoderStep(model, VAEConfig(lr=1e-2)), train, num_epochs, checkpoint_path=path,
                   config={"run": "test"}, progress=False), model


def _as_if_trained_on_a_gpu(path):
    """Rewrite the checkpoint's loader state as a CUDA run saves it: Philox seed and offset, 16 bytes."""
    state = torch.load(path, weights_only=False)
    state["train_loader"]["device_generator"] = torch.tensor([1, 4 * 16], dtype=torch.int64).view(torch.uint8)
    state["train_loader"]["device_type"] = "cuda"
    torch.save(state, path)
    return state


def test_an_unfinished_gpu_run_resumes_on_the_cpu_repeatably(tmp_path):
    first, _ = _trainer(tmp_path / "run.pt", num_epochs=1)
    first.fit()
    _as_if_trained_on_a_gpu(tmp_path / "run.pt")
    (tmp_path / "copy").mkdir()
    (tmp_path / "copy" / "run.pt").write_bytes((tmp_path / "run.pt").read_bytes())
    resumed, model = _trainer(tmp_path / "run.pt", num_epochs=2)
    assert len(resumed.fit()) == 2 and not resumed.loaded_complete
    again, model_again = _trainer(tmp_path / "copy" / "run.pt", num_epochs=2)
    again.fit()
    for a, b in zip(model.parameters(), model_again.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_finished_gpu_run_loads_its_weights_and_no_training_state(tmp_path):
    trained, trained_model = _trainer(tmp_path / "run.pt", num_epochs=1)
    trained.fit()
    state = _as_if_trained_on_a_gpu(tmp_path / "run.pt")
    state["step"]["optimizers"]["optimizer"]["param_groups"] = []  # would not load: must not be read
    torch.save(state, tmp_path / "run.pt")
    loaded, model = _trainer(tmp_path / "run.pt", num_epochs=1)
    untouched = loaded.train_loader.state_dict()
    loaded.fit()
    assert loaded.loaded_complete
    for a, b in zip(trained_model.parameters(), model.parameters()):
        assert torch.equal(a, b)
    assert loaded.step.optimizers["optimizer"].state_dict()["state"] == {}
    for key in ("generator", "device_generator"):
        assert torch.equal(loaded.train_loader.state_dict()[key], untouched[key])
    assert torch.equal(torch.get_rng_state(), state["torch_rng"])  # what follows draws as after training


def test_cuda_random_states_are_restored_for_the_gpus_present(tmp_path, monkeypatch):
    trained, _ = _trainer(tmp_path / "run.pt", num_epochs=1)
    trained.fit()
    state = torch.load(tmp_path / "run.pt", weights_only=False)
    state["cuda_rng"] = [torch.tensor([7, 0], dtype=torch.int64).view(torch.uint8),
                         torch.tensor([8, 0], dtype=torch.int64).view(torch.uint8)]  # saved on two GPUs
    torch.save(state, tmp_path / "run.pt")
    opened, restored = _trainer(tmp_path / "run.pt", num_epochs=1)[0], []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # opened on one
    monkeypatch.setattr(torch.cuda, "set_rng_state", lambda rng, device="cuda": restored.append((rng, device)))
    opened.fit()
    assert len(restored) == 1 and restored[0][1] == 0 and torch.equal(restored[0][0], state["cuda_rng"][0])
