"""One training loop and the engine around it, the per-family steps, and the train-or-load recipes the notebooks call."""
from labutils.training.engine import History, Trainer, TrainingDiverged
from labutils.training.gan import TrainedGAN, train_gan
from labutils.training.loop import evaluate, train_loop
from labutils.training.runs import EvaluatedRun, TrainedModel, evaluated_runs, train_mnist_classifier, train_mnist_model
from labutils.training.step import Step

__all__ = ["History", "Step", "Trainer", "TrainingDiverged", "TrainedGAN", "train_gan", "TrainedModel",
           "EvaluatedRun", "evaluate", "evaluated_runs", "train_loop", "train_mnist_classifier", "train_mnist_model"]
