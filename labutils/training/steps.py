"""What one batch of training does, per model family. The loop around it is `engine.Trainer`."""
from __future__ import annotations

import torch
import torch.nn.functional as F

from labutils.models.autoencoder import VAE, Autoencoder, vae_loss
from labutils.models.classifier import MNISTClassifier
from labutils.training.engine import Step, adam


class AutoencoderStep(Step):
    """Minimise the per-pixel mean squared error between x and its reconstruction (the report's loss)."""

    def __init__(self, model: Autoencoder, lr: float):
        self.model = model
        self.optimizer = adam(model.parameters(), lr=lr)
        self.modules = {"model": model}
        self.optimizers = {"optimizer": self.optimizer}

    def train_step(self, batch):
        x = batch[0].flatten(1)                       # (B, 784) in [0, 1]
        with self.autocast():
            loss = F.mse_loss(self.model(x).float(), x)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.detach()}

    def eval_step(self, batch):
        x = batch[0].flatten(1)
        return {"loss": F.mse_loss(self.model(x), x)}


class VAEStep(Step):
    """Minimise the negative ELBO, reconstruction + beta * KL (Kingma & Welling, 2014).

    Evaluation also reports `mse`: the per-pixel squared error of decoding the posterior mean,
    directly comparable with the autoencoder's loss.
    """

    def __init__(self, model: VAE, lr: float, beta: float = 1.0,
                 reconstruction_loss: str = "mse", reconstruction_reduction: str = "sum"):
        self.model = model
        self.optimizer = adam(model.parameters(), lr=lr)
        self.modules = {"model": model}
        self.optimizers = {"optimizer": self.optimizer}
        self.beta = beta
        self.reconstruction_loss = reconstruction_loss
        self.reconstruction_reduction = reconstruction_reduction

    def _loss(self, x):
        with self.autocast():
            x_hat, mu, logvar = self.model(x)
        x_hat, mu, logvar = x_hat.float(), mu.float(), logvar.float()  # the loss in full precision
        loss, recon, kl = vae_loss(x_hat, x, mu, logvar, self.beta,
                                   self.reconstruction_loss, self.reconstruction_reduction)
        return loss, recon, kl, mu

    def train_step(self, batch):
        x = batch[0].flatten(1)
        loss, recon, kl, _ = self._loss(x)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    def eval_step(self, batch):
        x = batch[0].flatten(1)
        loss, recon, kl, mu = self._loss(x)
        mse = F.mse_loss(self.model.decode(mu), x)
        return {"loss": loss, "recon": recon, "kl": kl, "mse": mse}


class ClassifierStep(Step):
    """Cross-entropy with Adam; evaluation reports the loss and the accuracy."""

    def __init__(self, model: MNISTClassifier, lr: float = 1e-3):
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        self.modules = {"model": model}
        self.optimizers = {"optimizer": self.optimizer}

    def train_step(self, batch):
        x, y = batch[0], batch[1]
        loss = F.cross_entropy(self.model(x), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.detach()}

    def eval_step(self, batch):
        x, y = batch[0], batch[1]
        logits = self.model(x)
        return {"loss": F.cross_entropy(logits, y), "accuracy": (logits.argmax(1) == y).float().mean()}
