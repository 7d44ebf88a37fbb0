"""The networks: fully connected AE and VAE, and the VAE's loss terms."""
from labutils.models.autoencoder import VAE, Autoencoder, kl_per_dimension, reconstruction_error, vae_loss

__all__ = ["VAE", "Autoencoder", "kl_per_dimension", "reconstruction_error", "vae_loss"]
