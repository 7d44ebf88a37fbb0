"""Data sources (MNIST, abstract art), a GAN's training images, and the in-memory batch loaders."""
from labutils.data.art import ArtImages, load_abstract_art
from labutils.data.gan_data import GANData, load_gan_data
from labutils.data.loaders import TensorLoader, mnist_loaders, ordered_loaders
from labutils.data.mnist import MNIST, load_mnist

__all__ = ["ArtImages", "load_abstract_art", "GANData", "load_gan_data", "TensorLoader", "mnist_loaders",
           "ordered_loaders", "MNIST", "load_mnist"]
