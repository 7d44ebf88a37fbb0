"""`python -m labtools.data` (what `make data` runs): acquire and verify every data set the lab uses."""
from labutils.data.art import load_abstract_art
from labutils.data.mnist import load_mnist

if __name__ == "__main__":
    load_mnist()
    load_abstract_art()
