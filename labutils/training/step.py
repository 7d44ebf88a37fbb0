"""What a model family supplies to the loop: a `Step`, its modules, optimisers and what one batch of
training or evaluation does. The loop itself is `labutils.training.loop` (notebook 01's)."""
from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import torch
from torch import nn


class Step:
    """What a model family does with one batch. Subclasses set `modules` and `optimizers`.

    `train_step` and `eval_step` return a dict of 0-d tensors (detached). They stay on the
    device: the engine reads them back only at logging intervals, so a step on the GPU never
    waits for the host. A checkpoint keeps the modules, the optimisers and the attributes named in
    `counters` (what a step's schedule counts), so that a resumed run goes on as if never stopped.
    """

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    counters: tuple[str, ...] = ()
    autocast_dtype: torch.dtype | None = None  # bf16 where config.mixed_precision resolves to it (runs.py, gan.py)

    def autocast(self):
        """Context for the forward pass and loss: bf16 autocast when enabled, else nothing."""
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(device_of(self), dtype=self.autocast_dtype)

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
            # A tensor counter is kept as a value on the CPU, not with its graph or its device.
            "counters": {name: _detached(getattr(self, name)) for name in self.counters},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, module in self.modules.items():
            module.load_state_dict(state["modules"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        device = next(next(iter(self.modules.values())).parameters()).device
        for name, value in state.get("counters", {}).items():
            setattr(self, name, value.to(device) if isinstance(value, torch.Tensor) else value)


def add_to_class(cls: type):
    """Decorator: make the function a method of `cls` (d2l's `add_to_class`), so that a class's methods
    can be written, and explained, one notebook cell each."""
    def add(method):
        setattr(cls, method.__name__, method)
        return method
    return add


def _detached(value: Any) -> Any:
    return value.detach().cpu() if isinstance(value, torch.Tensor) else value


def device_of(step: Step) -> str:
    """The device type ("cpu", "cuda", ...) of the step's first module."""
    return next(next(iter(step.modules.values())).parameters()).device.type


FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(parameters, lr: float, betas: tuple[float, float] = (0.9, 0.999)) -> torch.optim.Adam:
    """Adam with its fused kernel where the parameters' device has one: the same update in one
    kernel per step instead of a handful per tensor (on the 2-core CPU, the AE's epoch is ~1.5x faster)."""
    parameters = list(parameters)
    fused = all(p.device.type in FUSED_ADAM_DEVICES for p in parameters)
    return torch.optim.Adam(parameters, lr=lr, betas=betas, fused=fused or None)


def mean_metrics(rows: list[dict[str, torch.Tensor]], weights: list[int] | None = None) -> dict[str, torch.Tensor]:
    """Average a list of per-batch metric dicts (weighted by batch size when given), in float64."""
    if not rows:
        return {}
    weights_t = torch.tensor(weights if weights else [1] * len(rows), dtype=torch.float64)
    out = {}
    for key in rows[0]:
        values = torch.stack([r[key].detach().double() for r in rows]).cpu()
        out[key] = (values * weights_t).sum() / weights_t.sum()
    return out
