"""One training engine, the per-family steps, and the train-or-load recipe the notebooks call."""
from labutils.training.engine import History, Step, Trainer, TrainingDiverged
from labutils.training.runs import TrainedModel, train_mnist_model

__all__ = ["History", "Step", "Trainer", "TrainingDiverged", "TrainedModel", "train_mnist_model"]
