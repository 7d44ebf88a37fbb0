"""One training engine, the per-family steps, and the train-or-load recipes the notebooks call."""
from labutils.training.engine import History, Step, Trainer, TrainingDiverged
from labutils.training.gan import TrainedGAN, train_gan
from labutils.training.runs import TrainedModel, train_mnist_classifier, train_mnist_model

__all__ = ["History", "Step", "Trainer", "TrainingDiverged", "TrainedGAN", "train_gan", "TrainedModel",
           "train_mnist_classifier", "train_mnist_model"]
