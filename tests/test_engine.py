import pytest
import torch

from labutils.config import AEConfig, VAEConfig
from labutils.data.loaders import TensorLoader
from labutils.models import Autoencoder
from labutils.training.engine import Trainer, TrainingDiverged
from labutils.training.step import Step
from labutils.training.steps import AutoencoderStep, VAEStep
from labutils.models import VAE


def _data(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 784, generator=g), torch.zeros(n, dtype=torch.long)


def _trainer(tmp_path, num_epochs, seed=0, step_cls=AutoencoderStep, model_cls=Autoencoder, config=None,
             continue_from=None):
    torch.manual_seed(seed)
    model = model_cls(hidden_dims=(16,), latent_dim=4)
    x, y = _data()
    train = TensorLoader(x, y, batch_size=16, shuffle=True, seed=seed)
    test = TensorLoader(x[:32], y[:32], batch_size=16)
    return Trainer(step_cls(model, VAEConfig(lr=1e-2)), train, num_epochs, test_loader=test,
                   checkpoint_path=tmp_path / "run.pt", config=config or {"run": "test"}, progress=False,
                   continue_from=continue_from), model


def test_history_has_train_and_test_metrics_per_epoch(tmp_path):
    trainer, _ = _trainer(tmp_path, num_epochs=3)
    history = trainer.fit()
    assert len(history) == 3
    assert set(history.epochs[0]) >= {"epoch", "train_loss", "test_loss", "seconds"}
    assert len(history.iterations["loss"]) == 3 * 4  # 64 samples / batch 16, every iteration logged
    assert history["train_loss"][-1] < history["train_loss"][0]


def test_checkpoint_round_trip_loads_instead_of_training(tmp_path, capsys):
    trainer, model = _trainer(tmp_path, num_epochs=2)
    trainer.fit()
    assert not list(tmp_path.glob("*.part"))  # written atomically
    again, fresh = _trainer(tmp_path, num_epochs=2, seed=123)  # different init: must be overwritten
    history = again.fit()
    assert "Training skipped" in capsys.readouterr().out
    assert len(history) == 2
    for a, b in zip(model.parameters(), fresh.parameters()):
        assert torch.equal(a, b)


def test_resume_after_interruption_equals_an_uninterrupted_run(tmp_path):
    straight, straight_model = _trainer(tmp_path / "a", num_epochs=3, step_cls=VAEStep, model_cls=VAE)
    straight.fit()
    first, _ = _trainer(tmp_path / "b", num_epochs=1, step_cls=VAEStep, model_cls=VAE)
    first.fit()
    # A new process: fresh objects, different global RNG; the checkpoint restores everything.
    torch.manual_seed(999)
    resumed, resumed_model = _trainer(tmp_path / "b", num_epochs=3, seed=0, step_cls=VAEStep, model_cls=VAE)
    history = resumed.fit()
    assert len(history) == 3
    for a, b in zip(straight_model.parameters(), resumed_model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_checkpoint_of_another_config_is_refused(tmp_path):
    trainer, _ = _trainer(tmp_path, num_epochs=1, config={"lr": 1e-2})
    trainer.fit()
    other, _ = _trainer(tmp_path, num_epochs=1, config={"lr": 1e-3})
    with pytest.raises(ValueError, match="different config.*lr"):
        other.fit()


def test_continuing_another_config_is_refused_but_a_longer_one_is_not(tmp_path):
    shorter, _ = _trainer(tmp_path / "short", num_epochs=1, config={"lr": 1e-2, "num_epochs": 1})
    shorter.fit()
    other, _ = _trainer(tmp_path, num_epochs=2, config={"lr": 1e-3, "num_epochs": 2},
                        continue_from=tmp_path / "short" / "run.pt")
    with pytest.raises(ValueError, match=r"different config \(fields \['lr'\]\)"):
        other.fit()
    longer, _ = _trainer(tmp_path, num_epochs=2, config={"lr": 1e-2, "num_epochs": 2},
                         continue_from=tmp_path / "short" / "run.pt")
    assert len(longer.fit()) == 2 and (tmp_path / "run.pt").exists()


class _ExplodingStep(AutoencoderStep):
    """Trains normally for `good_steps` steps, then reports a NaN loss."""

    def __init__(self, model, config, good_steps):
        super().__init__(model, config)
        self.calls, self.good_steps = 0, good_steps

    def train_step(self, batch):
        self.calls += 1
        metrics = super().train_step(batch)
        return metrics if self.calls <= self.good_steps else {"loss": torch.tensor(float("nan"))}


def test_nan_loss_stops_training_and_keeps_last_good_checkpoint(tmp_path):
    model = Autoencoder(hidden_dims=(16,), latent_dim=4)
    x, y = _data()
    step = _ExplodingStep(model, AEConfig(lr=1e-2), good_steps=4)  # epoch 1 has 4 steps: epoch 2 diverges
    trainer = Trainer(step, TensorLoader(x, y, batch_size=16), 3, checkpoint_path=tmp_path / "run.pt", progress=False)
    with pytest.raises(TrainingDiverged, match=r"'loss' became nan in epoch 2.*epoch 1\) is kept"):
        trainer.fit()
    saved = torch.load(tmp_path / "run.pt", weights_only=False)
    assert saved["epoch"] == 1


def test_step_base_state_dict_covers_modules_optimizers_and_counters():
    model = Autoencoder(hidden_dims=(8,), latent_dim=2)
    step = AutoencoderStep(model, AEConfig())
    state = step.state_dict()
    assert set(state) == {"modules", "optimizers", "counters"} and "model" in state["modules"]
    assert state["counters"] == {} and isinstance(step, Step)  # the AE's step counts nothing


def test_mixed_precision_resolution_and_a_bf16_step():
    from labutils.training.engine import resolve_mixed_precision

    cpu = torch.device("cpu")
    assert resolve_mixed_precision("auto", cpu) is None  # on a CPU only for families that gain from it
    assert resolve_mixed_precision("off", cpu, bf16_on_cpu=True) is None
    assert resolve_mixed_precision("bf16", cpu) is torch.bfloat16
    step = VAEStep(VAE(hidden_dims=(16,), latent_dim=4), VAEConfig())
    step.autocast_dtype = torch.bfloat16
    metrics = step.train_step((torch.rand(8, 784),))
    assert all(v.dtype == torch.float32 and torch.isfinite(v) for v in metrics.values())


@pytest.mark.parametrize("native", [True, False])
def test_auto_takes_bf16_on_a_cpu_only_where_it_is_native_and_the_family_gains(monkeypatch, native):
    from labutils.training import engine

    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: native)
    cpu = torch.device("cpu")
    assert engine.resolve_mixed_precision("auto", cpu, bf16_on_cpu=True) is (torch.bfloat16 if native else None)
    assert engine.resolve_mixed_precision("auto", cpu, bf16_on_cpu=False) is None


@pytest.mark.parametrize("env, value", [
    ("LAB_NATIVE_BF16", "0"), ("ONEDNN_MAX_CPU_ISA", "AVX2"), ("ONEDNN_MAX_CPU_ISA", "avx512_core"),
    ("DNNL_MAX_CPU_ISA", "AVX2_VNNI"),
])
def test_native_bf16_is_off_where_the_environment_says_the_cpu_lacks_it(monkeypatch, env, value):
    from labutils.training import engine

    # A CPU that has native bf16 as far as torch can tell; the environment overrules it.
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    for name in ("LAB_NATIVE_BF16", "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"):
        monkeypatch.delenv(name, raising=False)
    assert engine.cpu_has_native_bf16()
    monkeypatch.setenv(env, value)
    assert not engine.cpu_has_native_bf16()
    assert engine.resolve_mixed_precision("auto", torch.device("cpu"), bf16_on_cpu=True) is None


def test_an_isa_cap_with_bf16_keeps_native_bf16(monkeypatch):
    from labutils.training import engine

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True, raising=False)
    monkeypatch.delenv("LAB_NATIVE_BF16", raising=False)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_AMX")
    assert engine.cpu_has_native_bf16()


def test_a_cpu_training_shares_the_cpu_and_reports_its_progress(tmp_path, monkeypatch):
    import json
    import os

    from labutils import runtime

    share_dir = tmp_path / "share"
    monkeypatch.setattr(runtime, "CPU_SHARE_DIR", share_dir)
    monkeypatch.setenv(runtime.PROGRESS_ENV, str(tmp_path / "progress.jsonl"))
    trainer, _ = _trainer(tmp_path, num_epochs=2)
    registered = []
    step_once = trainer.step.train_step
    monkeypatch.setattr(trainer.step, "train_step",
                        lambda batch: registered.append(sorted(p.name for p in share_dir.iterdir())) or step_once(batch))
    trainer.fit()
    assert registered and all(names == [f"{os.getpid()}.pid"] for names in registered)
    assert list(share_dir.iterdir()) == []  # gone once training ends
    _trainer(tmp_path, num_epochs=2)[0].fit()  # loads the finished run
    events = [json.loads(line) for line in (tmp_path / "progress.jsonl").read_text().splitlines()]
    assert [(e["status"], e["epoch"]) for e in events] == [("training", 0), ("training", 1), ("training", 2),
                                                           ("loaded", 2)]
    assert events[1]["eta_seconds"] == pytest.approx(events[1]["epoch_seconds"]) and events[2]["eta_seconds"] == 0
    assert {e["run"] for e in events} == {"run"}

