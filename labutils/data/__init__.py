"""Data sources (MNIST, abstract art) and the in-memory batch loader."""
from labutils.data.art import ArtImages, load_abstract_art
from labutils.data.loaders import TensorLoader
from labutils.data.mnist import MNIST, load_mnist

__all__ = ["ArtImages", "load_abstract_art", "TensorLoader", "MNIST", "load_mnist"]
