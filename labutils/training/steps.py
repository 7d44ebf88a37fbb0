"""What one batch of training does, per model family. The loop around it is `loop.train_loop`.

The autoencoder's and the VAE's steps are written and explained in notebooks 01 and 02, between
the marker lines; `make export` copies them here. Every step is built as `StepClass(model, config)`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from labutils.config import AEConfig, VAEConfig
from labutils.models.autoencoder import VAE, Autoencoder, vae_loss
from labutils.models.classifier import MNISTClassifier
from labutils.training.step import Step, adam

# ---- #@save cells of notebooks/01_autoencoder.ipynb: edit them there, then `make export` ----
def ae_loss(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The report's loss: the squared error per pixel, averaged over the pixels and the batch."""
    return F.mse_loss(x_hat, x)


class AutoencoderStep(Step):
    """One batch of autoencoder training: reconstruct x, measure the loss, one Adam update."""

    def __init__(self, model: Autoencoder, config: AEConfig):
        self.model = model
        self.optimizer = adam(model.parameters(), lr=config.lr)
        self.modules, self.optimizers = {"model": model}, {"optimizer": self.optimizer}

    def train_step(self, batch):
        x = batch[0].flatten(1)                       # (B, 784) in [0, 1]
        with self.autocast():                         # bf16 where enabled (a GPU); a no-op on the CPU
            x_hat = self.model(x).float()             # (B, 784)
        loss = ae_loss(x_hat, x)
        self.optimizer.zero_grad(set_to_none=True)    # forget the last batch's gradients
        loss.backward()                               # d loss / d every weight
        self.optimizer.step()                         # one Adam update
        return {"loss": loss.detach()}

    def eval_step(self, batch):
        x = batch[0].flatten(1)
        x_hat = self.model(x)
        return {"loss": ae_loss(x_hat, x), "mse": F.mse_loss(x_hat, x)}  # mse: whatever the loss, comparable
# ---- end of notebooks/01_autoencoder.ipynb ----


# ---- #@save cells of notebooks/02_vae.ipynb: edit them there, then `make export` ----
class VAEStep(Step):
    """One batch of VAE training: the VAE loss, reconstruction + beta * KL (`vae_loss`), one Adam update."""
    def __init__(self, model: VAE, config: VAEConfig):
        self.model, self.config = model, config
        self.optimizer = adam(model.parameters(), lr=config.lr)
        self.modules, self.optimizers = {"model": model}, {"optimizer": self.optimizer}

    def losses(self, x):
        with self.autocast():                                             # z = mu + sigma * eps inside
            x_hat, mu, logvar = (t.float() for t in self.model(x))        # the loss in full precision
        c = self.config
        return vae_loss(x_hat, x, mu, logvar, c.beta, c.reconstruction_loss, c.reconstruction_reduction), mu

    def train_step(self, batch):
        (loss, recon, kl), _ = self.losses(batch[0].flatten(1))
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss": loss.detach(), "recon": recon.detach(), "kl": kl.detach()}

    def eval_step(self, batch):
        x = batch[0].flatten(1)
        (loss, recon, kl), mu = self.losses(x)  # and the error of decoding mu, comparable with the AE's loss
        return {"loss": loss, "recon": recon, "kl": kl, "mse": F.mse_loss(self.model.decode(mu), x)}
# ---- end of notebooks/02_vae.ipynb ----


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
