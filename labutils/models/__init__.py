"""The networks: AE and VAE (with the VAE's loss terms), the DCGAN pair, the MNIST classifier."""
from labutils.models.autoencoder import VAE, Autoencoder, kl_per_dimension, reconstruction_error, vae_loss
from labutils.models.classifier import MNISTClassifier
from labutils.models.gan import Discriminator, Generator

__all__ = ["VAE", "Autoencoder", "kl_per_dimension", "reconstruction_error", "vae_loss",
           "MNISTClassifier", "Discriminator", "Generator"]
