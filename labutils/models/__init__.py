"""The networks: AE and VAE (with the VAE's loss terms), the DCGAN pair and its sampling, the MNIST classifier."""
from labutils.models import sampling
from labutils.models.autoencoder import VAE, Autoencoder, kl_per_dimension, reconstruction_error, vae_loss
from labutils.models.classifier import MNISTClassifier
from labutils.models.gan import Discriminator, Generator

__all__ = ["sampling", "VAE", "Autoencoder", "kl_per_dimension", "reconstruction_error", "vae_loss",
           "MNISTClassifier", "Discriminator", "Generator"]
