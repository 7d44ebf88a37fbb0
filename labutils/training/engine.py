"""One training engine for every model family in the lab.

Nothing in this file knows about autoencoders or GANs: a family supplies a `Step` (its
modules, optimisers and what one batch of training or evaluation does), and the engine owns
the epoch loop, the history, the progress bar, checkpoints, resume and the NaN guard.
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from labutils.runtime import CPUShare, report_progress, save_atomically


class Step:
    """What a model family does with one batch. Subclasses set `modules` and `optimizers`.

    `train_step` and `eval_step` return a dict of 0-d tensors (detached). They stay on the
    device: the engine reads them back only at logging intervals, so a step on the GPU never
    waits for the host.
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    autocast_dtype: torch.dtype | None = None  # set by `use_mixed_precision`

    def autocast(self):
        """Context for the forward pass and loss: bf16 autocast when enabled, else nothing."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(_device_type(self), dtype=self.autocast_dtype)

    def train_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def eval_step(self, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Called after each epoch (1-based); may return extra metrics for the history."""
        return {}

    def train(self, mode: bool = True) -> None:
        for module in self.modules.values():
            module.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return {
            "modules": {name: m.state_dict() for name, m in self.modules.items()},
            "optimizers": {name: o.state_dict() for name, o in self.optimizers.items()},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])


@dataclass
class History:
    """Per-epoch metrics (train_*, test_*, seconds) and every training iteration's metrics."""

    epochs: list[dict[str, float]] = field(default_factory=list)
    iterations: dict[str, list[float]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> list[float]:
        """One per-epoch series, e.g. `history["test_loss"]`."""
        return [row[key] for row in self.epochs if key in row]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def total_seconds(self) -> float:
        return sum(row["seconds"] for row in self.epochs)

    def to_dict(self) -> dict[str, Any]:
        return {"epochs": self.epochs, "iterations": self.iterations}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "History":
        return cls(epochs=list(state["epochs"]), iterations={k: list(v) for k, v in state["iterations"].items()})


FUSED_ADAM_DEVICES = ("cpu", "cuda")
CPU_SHARE_EVERY = 20  # batches between two looks at how many trainings share the CPU


def _device_type(step: Step) -> str:
    return next(next(iter(step.modules.values())).parameters()).device.type


def adam(parameters, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with its fused kernel where the parameters' device has one: the same update in one
    kernel per step instead of a handful per tensor (on the 2-core CPU, the AE's epoch is ~1.5x faster)."""
    parameters = list(parameters)
    fused = all(p.device.type in FUSED_ADAM_DEVICES for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=fused or None)


# LAB_NATIVE_BF16=0: behave as a CPU without native bf16 (an environment variable, so that it reaches
# the subprocesses of `make bench` and the notebooks' kernels). With ONEDNN_MAX_CPU_ISA=AVX2 beside it,
# a machine with AVX-512 trains and benchmarks as a laptop's AVX2 CPU would.
NATIVE_BF16_ENV = "LAB_NATIVE_BF16"
# oneDNN's instruction sets without bf16 arithmetic: capped at one of these, oneDNN emulates bf16.
ONEDNN_ISAS_WITHOUT_BF16 = frozenset({"SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX512_CORE", "AVX512_CORE_VNNI"})


def cpu_has_native_bf16() -> bool:
    """True on CPUs that compute bf16 natively (avx512_bf16, or AMX): oneDNN's bf16 convolutions and
    matmuls then run at about twice the fp32 rate. Elsewhere bf16 is emulated, and far slower (a
    2048² matmul over a minute on an AVX2-only CPU), so nothing of the lab runs it there unasked."""
    if os.environ.get(NATIVE_BF16_ENV, "").strip() == "0":
        return False
    cap = os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA") or ""
    if cap.strip().upper() in ONEDNN_ISAS_WITHOUT_BF16:
        return False
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


# Compute capability from which a GPU has bf16 arithmetic (Ampere). Before it, a T4 (7.5) included,
# torch.cuda.is_bf16_supported() still says True, by emulation: convolutions miss cuDNN's fast path.
CUDA_NATIVE_BF16_CAPABILITY = (8, 0)


def has_native_bf16(device: torch.device) -> bool:
    """Whether `device` computes bf16 natively: CUDA from CUDA_NATIVE_BF16_CAPABILITY on, a CPU as
    `cpu_has_native_bf16` says; nothing else."""
    if device.type == "cuda":
        return torch.cuda.get_device_capability(device) >= CUDA_NATIVE_BF16_CAPABILITY
    return device.type == "cpu" and cpu_has_native_bf16()


def resolve_mixed_precision(setting: str, device: torch.device, bf16_on_cpu: bool = False) -> torch.dtype | None:
    """"auto" -> bf16 on CUDA GPUs that compute it natively (capability 8.0 on: Ampere and newer), and on
    CPUs with native bf16 for a model family that measured faster with it (`bf16_on_cpu`); else full precision."""
    if setting == "bf16":
        return torch.bfloat16
    if setting == "auto" and has_native_bf16(device) and (device.type == "cuda" or bf16_on_cpu):
        return torch.bfloat16
    return None


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def _mean_metrics(rows: list[dict[str, torch.Tensor]], weights: list[int] | None = None) -> dict[str, torch.Tensor]:
    """Average a list of per-batch metric dicts (weighted by batch size when given), on the device."""
    if not rows:
        return {}
    weights_t = torch.tensor(weights if weights else [1] * len(rows), dtype=torch.float64)
    out = {}
    for key in rows[0]:
        values = torch.stack([r[key].detach().double() for r in rows]).cpu()
        out[key] = (values * weights_t).sum() / weights_t.sum()
    return out


@torch.no_grad()
def evaluate(step: Step, loader: Iterable) -> dict[str, float]:
    """`step.eval_step` metrics averaged over every sample of `loader`, modules in eval mode."""
    step.train(False)
    rows, sizes = [], []
    for batch in loader:
        rows.append(step.eval_step(batch))
        sizes.append(batch[0].shape[0])
    return {k: float(v) for k, v in _mean_metrics(rows, sizes).items()}


class Trainer:
    """Train a `Step` for `num_epochs`, with checkpoints, resume and per-epoch history.

    Load-if-present-else-train: when `checkpoint_path` holds a finished run of the same config,
    `fit()` loads it and returns at once; a partial one is resumed from its last epoch, with
    the batch order and random state it had, so the result equals an uninterrupted run.

    `continue_from`, when `checkpoint_path` holds nothing yet, is a finished shorter run of the
    same config (only num_epochs differs) to train on from: with no schedule tied to the epoch
    count, that equals training for `num_epochs` from the start.
    """

    def __init__(
        self,
        step: Step,
        train_loader: Iterable,
        num_epochs: int,
        test_loader: Iterable | None = None,
        checkpoint_path: str | Path | None = None,
        config: dict[str, Any] | None = None,
        progress: bool = True,
        log_every: int = 50,
        verbose: bool = True,
        continue_from: str | Path | None = None,
    ):
        self.step = step
        self.train_loader = train_loader
        self.test_loader = test_loader
        self.num_epochs = num_epochs
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.continue_from = Path(continue_from) if continue_from else None
        self.loaded_from: Path | None = None  # the checkpoint fit() started from, if any
        self.loaded_complete = False  # fit() loaded a finished run and trained nothing
        self.config = config or {}
        self.progress = progress
        self.verbose = verbose  # headless only: False prints no per-epoch lines
        self.log_every = log_every
        self.history = History()
        self._cpu_share: CPUShare | None = None  # while training on the CPU (see runtime.CPUShare)

    # -- checkpoints -------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        if self.checkpoint_path is None:
            return
        state = {
            "config": self.config,
            "epoch": len(self.history),
            "history": self.history.to_dict(),
            "step": self.step.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        }
        if hasattr(self.train_loader, "state_dict"):
            state["train_loader"] = self.train_loader.state_dict()
        save_atomically(state, self.checkpoint_path)

    def load_checkpoint(self) -> bool:
        """Restore the checkpoint (else the shorter run to continue) if there is one; True when one was loaded.

        A finished run is opened to be used, not trained on: its weights, history and random state are
        restored, not its optimisers' or its loader's state, so it opens on whatever device is at hand.
        The file is read onto the CPU; the step's `load_state_dict` puts what it keeps on its device.
        """
        if self.checkpoint_path is not None and self.checkpoint_path.exists():
            path, ignored = self.checkpoint_path, set()
        elif self.continue_from is not None:
            path, ignored = self.continue_from, {"num_epochs"}
            if not path.exists():
                raise FileNotFoundError(f"No checkpoint to continue from at {path}. Train that run first, "
                                        "or leave continue_from out to train from the start.")
        else:
            return False
        state = torch.load(path, map_location="cpu", weights_only=False)
        saved = {k: v for k, v in state["config"].items() if k not in ignored}
        if self.config and saved != {k: v for k, v in self.config.items() if k not in ignored}:
            changed = sorted(k for k in self.config.keys() | saved.keys()
                             if k not in ignored and saved.get(k) != self.config.get(k))
            raise ValueError(
                f"Checkpoint {path} was trained with a different config "
                f"(fields {changed}). " + ("Delete it to train anew, or restore those values." if not ignored
                                           else "Continue a run of the same config, or train from the start.")
            )
        if path == self.continue_from and not len(state["history"]["epochs"]) < self.num_epochs:
            raise ValueError(f"Checkpoint {path} has {len(state['history']['epochs'])} epochs, not fewer than "
                             f"the {self.num_epochs} to train: there is nothing to continue.")
        finished = len(state["history"]["epochs"]) >= self.num_epochs
        step_state = state["step"]
        # A finished run's optimisers load their own state back, so Step.load_state_dict, part of every
        # run's code fingerprint, stays as it is.
        if finished:
            step_state = {**step_state, "optimizers": {name: optimizer.state_dict()
                                                       for name, optimizer in self.step.optimizers.items()}}
        self.step.load_state_dict(step_state)
        self.history = History.from_dict(state["history"])
        torch.set_rng_state(state["torch_rng"])  # the CPU's: the same form on every machine
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            for index, rng in enumerate(state["cuda_rng"][:torch.cuda.device_count()]):  # the GPUs here
                torch.cuda.set_rng_state(rng, index)
        if not finished and "train_loader" in state and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(state["train_loader"])
        self.loaded_from = path
        return True

    # -- training ----------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """The run's name in progress reports: its checkpoint's (the run id), else "training"."""
        return self.checkpoint_path.stem if self.checkpoint_path else "training"

    def fit(self) -> History:
        if self.load_checkpoint():
            done = len(self.history)
            if done >= self.num_epochs:
                print(f"Loaded {self.checkpoint_path.name}: {done} epochs, trained in "
                      f"{self.history.total_seconds:.0f} s. Training skipped (delete the file to retrain).")
                report_progress(run=self.name, status="loaded", epoch=done, epochs=self.num_epochs)
                self.loaded_complete = True
                self.step.train(False)
                return self.history
            print(f"Resuming {self.loaded_from.name} from epoch {done}/{self.num_epochs}"
                  + (f" into {self.checkpoint_path.name}." if self.loaded_from != self.checkpoint_path else "."))
        on_cpu = _device_type(self.step) == "cpu"
        with CPUShare() if on_cpu else nullcontext() as share:
            self._cpu_share = share
            self._train_epochs()
        self.step.train(False)
        return self.history

    def _train_epochs(self) -> None:
        start = len(self.history)
        report_progress(run=self.name, status="training", epoch=start, epochs=self.num_epochs)
        epochs = range(start + 1, self.num_epochs + 1)
        bar = tqdm(epochs, desc="epochs", disable=not self.progress, initial=start, total=self.num_epochs)
        session_seconds = 0.0
        for epoch in bar:
            t0 = time.perf_counter()
            train_metrics = self._train_epoch(epoch)
            row: dict[str, float] = {"epoch": epoch}
            row.update({f"train_{k}": float(v) for k, v in train_metrics.items()})
            if self.test_loader is not None:
                row.update({f"test_{k}": float(v) for k, v in evaluate(self.step, self.test_loader).items()})
            row.update(self.step.end_epoch(epoch))
            row["seconds"] = time.perf_counter() - t0
            self.history.epochs.append(row)
            self.save_checkpoint()
            self._report(bar, row)
            session_seconds += row["seconds"]
            per_epoch = session_seconds / (epoch - start)
            report_progress(run=self.name, status="training", epoch=epoch, epochs=self.num_epochs,
                            epoch_seconds=row["seconds"], eta_seconds=per_epoch * (self.num_epochs - epoch))

    def _train_epoch(self, epoch: int) -> dict[str, torch.Tensor]:
        self.step.train(True)
        rows: list[dict[str, torch.Tensor]] = []
        batches = tqdm(self.train_loader, desc=f"epoch {epoch}", leave=False, disable=not self.progress)
        for i, batch in enumerate(batches, start=1):
            rows.append(self.step.train_step(batch))
            if self._cpu_share is not None and i % CPU_SHARE_EVERY == 0:
                self._cpu_share.update()
            if i % self.log_every == 0:
                self._check_finite(rows[-self.log_every:], epoch, i)
                if self.progress:
                    batches.set_postfix({k: f"{float(v):.4g}" for k, v in rows[-1].items()})
        self._check_finite(rows, epoch, len(rows))
        # One read-back per epoch for the per-iteration log.
        for key in rows[0]:
            values = torch.stack([r[key] for r in rows]).float().cpu().tolist()
            self.history.iterations.setdefault(key, []).extend(values)
        return _mean_metrics(rows)

    def _check_finite(self, rows: list[dict[str, torch.Tensor]], epoch: int, iteration: int) -> None:
        for key in rows[0]:
            values = torch.stack([r[key] for r in rows])
            if not bool(torch.isfinite(values).all()):
                kept = (f"the last good checkpoint (epoch {len(self.history)}) is kept at {self.checkpoint_path}"
                        if self.checkpoint_path and len(self.history) else "no checkpoint was written")
                raise TrainingDiverged(
                    f"Training diverged: '{key}' became {values[~torch.isfinite(values)][0].item()} in epoch "
                    f"{epoch} (by iteration {iteration}). Training stopped; {kept}. "
                    f"Try a lower learning rate, or check the inputs for NaN."
                )

    def _report(self, bar, row: dict[str, float]) -> None:
        summary = "  ".join(f"{k} {v:.4g}" for k, v in row.items() if k not in ("epoch", "seconds"))
        if self.progress:
            bar.set_postfix_str(summary)
            return
        if not self.verbose:
            return
        # Headless: about ten lines per run, the first and last epoch always.
        every = max(1, self.num_epochs // 10)
        epoch = int(row["epoch"])
        if epoch == 1 or epoch == self.num_epochs or epoch % every == 0:
            print(f"epoch {epoch:>3}/{self.num_epochs}  {summary}  ({row['seconds']:.1f} s)", flush=True)

