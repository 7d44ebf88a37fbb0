"""One training engine for every model family in the lab: the bookkeeping around the loop.

Nothing in this file knows about autoencoders or GANs: a family supplies a `Step` (its modules,
optimisers and what one batch does), the loop (notebook 01's `train_loop`) runs it over epochs and
batches, and the engine keeps the books the loop calls: the history, progress bars, the NaN guard,
checkpoints, resume, and the CPU share.
"""
from __future__ import annotations

import os
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import torch
from tqdm.auto import tqdm

from labutils.runtime import CPUShare, report_progress, save_atomically
from labutils.training import published
from labutils.training.loop import train_loop
from labutils.training.step import Step, device_of, mean_metrics


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


CPU_SHARE_EVERY = 20  # batches between two looks at how many trainings share the CPU
CHECKPOINT_KEYS = frozenset({"config", "epoch", "history", "step", "torch_rng"})  # what save_checkpoint always writes


def _keys(state: Any) -> str:
    return f"keys {sorted(map(str, state))[:6]}" if isinstance(state, dict) else f"a {type(state).__name__}"


def _shapes(weights: dict) -> dict[str, tuple | None]:
    return {k: tuple(v.shape) if isinstance(v, torch.Tensor) else None for k, v in weights.items()}


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


class Trainer:
    """Train a `Step` for `num_epochs` with `loop` (notebook 01's `train_loop` by default), keeping the
    books it calls: per-epoch history, progress, the NaN guard, a checkpoint after every epoch, resume.

    Load-if-present-else-train: when `checkpoint_path` holds a finished run of the same config,
    `fit()` loads it and returns at once; a partial one is resumed from its last epoch, with
    the batch order and random state it had, so the result equals an uninterrupted run. Where it holds
    nothing and the run is published (`training.published`), `download` fetches it there first.

    `continue_from`, when `checkpoint_path` holds nothing yet, is a finished shorter run of the
    same config (only num_epochs differs) to train on from: with no schedule tied to the epoch
    count, that equals training for `num_epochs` from the start.

    `watch(epoch, step) -> dict`, when given, looks at the model after each epoch's end without changing
    it (the GAN's fixed-noise images and in-training distance); its metrics join the history, and its
    `state_dict()` the checkpoint.
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
        loop: Callable = train_loop,
        watch: Any = None,
        download: bool = True,
    ):
        self.step = step
        self.train_loader = train_loader
        self.test_loader = test_loader
        self.num_epochs = num_epochs
        self.loop, self.watch, self.download = loop, watch, download
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
        self._epochs_bar = self._batches_bar = None
        self._rows: list[dict[str, torch.Tensor]] = []  # this epoch's train_step metrics, on the device
        self._epoch, self._epoch_start = 0, 0.0
        self._session_start, self._session_seconds = 0, 0.0  # where this fit() began, and its seconds (for the time left)

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
        if self.watch is not None:
            state["watch"] = self.watch.state_dict()
        if hasattr(self.train_loader, "state_dict"):
            state["train_loader"] = self.train_loader.state_dict()
        save_atomically(state, self.checkpoint_path)
    def load_checkpoint(self) -> bool:
        """Restore the checkpoint (else the shorter run to continue) if there is one; True when one was loaded.

        A finished run is opened to be used, not trained on: its weights, history and random state are
        restored, not its optimisers' or its loader's state, so it opens on whatever device is at hand.
        The file is read onto the CPU; the step's `load_state_dict` puts what it keeps on its device.
        """
        if self.download and self.checkpoint_path is not None and not self.checkpoint_path.exists():
            published.fetch(self.checkpoint_path, self.published_problem, progress=self.progress)
        if self.checkpoint_path is not None and self.checkpoint_path.exists():
            path, ignored = self.checkpoint_path, set()
        elif self.continue_from is not None:
            path, ignored = self.continue_from, {"num_epochs"}
            if not path.exists():
                raise FileNotFoundError(f"No checkpoint to continue from at {path}. Train that run first, "
                                        "or leave continue_from out to train from the start.")
        else:
            return False
        state = torch.load(path, map_location="cpu", weights_only=True)  # tensors and containers, never code
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
        if self.watch is not None and "watch" in state:
            self.watch.load_state_dict(state["watch"])
        self.history = History.from_dict(state["history"])
        torch.set_rng_state(state["torch_rng"])  # the CPU's: the same form on every machine
        if state.get("cuda_rng") is not None and torch.cuda.is_available():
            for index, rng in enumerate(state["cuda_rng"][:torch.cuda.device_count()]):  # the GPUs here
                torch.cuda.set_rng_state(rng, index)
        if not finished and "train_loader" in state and hasattr(self.train_loader, "load_state_dict"):
            self.train_loader.load_state_dict(state["train_loader"])
        self.loaded_from = path
        return True

    def published_problem(self, state: Any) -> str | None:
        """Why a downloaded `state` is not a finished checkpoint of this run, which `load_checkpoint` would
        load (None: it is one): the keys `save_checkpoint` writes, this config, every epoch, the weights'
        shapes of this run's networks."""
        if not isinstance(state, dict) or not CHECKPOINT_KEYS <= state.keys():
            return f"not a checkpoint of the lab's engine (it holds {_keys(state)})"
        try:
            if self.config and state["config"] != self.config:
                changed = sorted(k for k in self.config.keys() | state["config"].keys()
                                 if state["config"].get(k) != self.config.get(k))
                return f"a checkpoint of another config (fields {changed})"
            if len(state["history"]["epochs"]) < self.num_epochs:
                return f"an unfinished run ({len(state['history']['epochs'])} of {self.num_epochs} epochs)"
            for name, module in self.step.modules.items():
                if _shapes(state["step"]["modules"][name]) != _shapes(module.state_dict()):
                    return f"its '{name}' weights do not fit this run's network"
        except (KeyError, TypeError, AttributeError) as err:
            return f"not a checkpoint of the lab's engine ({type(err).__name__}: {err})"
        return None

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
        start = len(self.history)
        report_progress(run=self.name, status="training", epoch=start, epochs=self.num_epochs)
        epochs = tqdm(range(start + 1, self.num_epochs + 1), desc="epochs", disable=not self.progress,
                      initial=start, total=self.num_epochs)
        self._epochs_bar, self._session_start, self._session_seconds = epochs, start, 0.0
        with CPUShare() if device_of(self.step) == "cpu" else nullcontext() as share:
            self._cpu_share = share
            self.loop(self.step, self.train_loader, self.test_loader, epochs, self)
        self.step.train(False)
        return self.history

    # -- what the loop calls -----------------------------------------------------------------
    def batches(self, loader: Iterable, epoch: int) -> Iterator:
        """The loader's batches with a progress bar. After the last one, the epoch's metrics are checked
        (NaN stops training) and kept per iteration, before the test pass."""
        self._epoch, self._epoch_start, self._rows = epoch, time.perf_counter(), []
        self._batches_bar = tqdm(loader, desc=f"epoch {epoch}", leave=False, disable=not self.progress)
        yield from self._batches_bar
        self._check_finite(self._rows, epoch, len(self._rows))
        for key in self._rows[0]:  # one read-back per epoch for the per-iteration log
            values = torch.stack([r[key] for r in self._rows]).float().cpu().tolist()
            self.history.iterations.setdefault(key, []).extend(values)

    def log_batch(self, metrics: dict[str, torch.Tensor]) -> None:
        """Keep one batch's metrics (on the device: no wait for the GPU); now and then check them for NaN
        and look at how many trainings share the CPU."""
        self._rows.append(metrics)
        i = len(self._rows)
        if self._cpu_share is not None and i % CPU_SHARE_EVERY == 0:
            self._cpu_share.update()
        if i % self.log_every == 0:
            self._check_finite(self._rows[-self.log_every:], self._epoch, i)
            if self.progress:
                self._batches_bar.set_postfix({k: f"{float(v):.4g}" for k, v in metrics.items()})

    def log_epoch(self, epoch: int, test_metrics: dict[str, float], epoch_metrics: dict[str, float]) -> None:
        """One row of history (the epoch's mean training metrics, the test pass's, the step's end-of-epoch
        ones and the watch's), then a checkpoint and the time left."""
        row: dict[str, float] = {"epoch": epoch}
        row.update({f"train_{k}": float(v) for k, v in mean_metrics(self._rows).items()})
        row.update({f"test_{k}": float(v) for k, v in test_metrics.items()})
        row.update(epoch_metrics)
        if self.watch is not None:
            row.update(self.watch(epoch, self.step))
        row["seconds"] = time.perf_counter() - self._epoch_start
        self.history.epochs.append(row)
        self.save_checkpoint()
        self._report(self._epochs_bar, row)
        self._session_seconds += row["seconds"]
        per_epoch = self._session_seconds / (epoch - self._session_start)
        report_progress(run=self.name, status="training", epoch=epoch, epochs=self.num_epochs,
                        epoch_seconds=row["seconds"], eta_seconds=per_epoch * (self.num_epochs - epoch))

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

