"""The loop that trains every model of the lab: epochs of batches, one `step.train_step` per batch,
then the test pass. Notebook 01 writes it, between the marker lines; `make export` copies it here.

The engine (`engine.Trainer`) runs it and passes itself as `trainer`: the bookkeeping around the loop
(progress bars, the history, the NaN guard, checkpoints, resume, the CPU share) stays there.
"""
from __future__ import annotations

import torch

from labutils.training.step import Step, mean_metrics

# ---- #@save cells of notebooks/01_autoencoder.ipynb: edit them there, then `make export` ----
@torch.no_grad()  # nothing is learnt here: no gradients, and less memory
def evaluate(step: Step, loader) -> dict[str, float]:
    """`step.eval_step`'s metrics averaged over every image of `loader`, the modules in evaluation mode."""
    step.train(False)
    rows, sizes = [], []
    for batch in loader:
        rows.append(step.eval_step(batch))
        sizes.append(len(batch[0]))
    return {name: float(value) for name, value in mean_metrics(rows, sizes).items()}


def train_loop(step: Step, train_loader, test_loader, epochs, trainer) -> None:
    """Train `step` for each epoch in `epochs`: one `step.train_step` per batch, then the test pass.
    `trainer` keeps the books: progress bars, the history, the NaN guard, a checkpoint after each epoch."""
    for epoch in epochs:
        step.train(True)                                      # training mode (BatchNorm uses the batch)
        for batch in trainer.batches(train_loader, epoch):    # the loader shuffles anew each epoch
            metrics = step.train_step(batch)                  # forward, loss, backward, one optimiser step
            trainer.log_batch(metrics)
        test_metrics = evaluate(step, test_loader) if test_loader is not None else {}
        trainer.log_epoch(epoch, test_metrics, step.end_epoch(epoch))  # end_epoch: the step's own (04's)
# ---- end of notebooks/01_autoencoder.ipynb ----
