"""A test digit and its nearest training images in several spaces (pixels, AE codes, VAE posterior
means): what kNN accuracy counts, shown one query at a time.

The training representations are held once as float32 tensors with their squared norms, so that a
query is one matrix-vector product per space: well under a tenth of a second for 60000 images.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from labutils.explore import Explorer, to_png

N_NEIGHBOURS = 8
IMAGE_SHAPE = (1, 28, 28)


@contextmanager
def one_thread():
    """Torch on one thread for a while: a query's products are too small to gain from more, and on a
    CPU that other work keeps busy two threads wait on each other (on 2 busy cores, 40 ms a query
    instead of 130 ms)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _tensor(x) -> torch.Tensor:
    return torch.as_tensor(x, dtype=torch.float32).cpu().flatten(1).contiguous()


@dataclass
class NeighbourSearch:
    """Training and test images, their labels, and their representations in named spaces."""

    spaces: dict[str, tuple[torch.Tensor, torch.Tensor]]   # name -> (train (N, D), test (M, D))
    train_norms: dict[str, torch.Tensor]                   # name -> (N,) squared norms of the train rows
    train_images: torch.Tensor                             # (N, 784) in [0, 1]
    test_images: torch.Tensor                              # (M, 784)
    train_labels: torch.Tensor                             # (N,)
    test_labels: torch.Tensor                              # (M,)

    @classmethod
    def build(cls, spaces: Mapping[str, tuple[object, object]], train_images, test_images, train_labels,
              test_labels) -> "NeighbourSearch":
        """From `name: (train, test)` representations (tensors or arrays, rows aligned with the images)."""
        held = {name: (_tensor(train), _tensor(test)) for name, (train, test) in spaces.items()}
        return cls(held, {name: (train ** 2).sum(1) for name, (train, _) in held.items()},
                   _tensor(train_images), _tensor(test_images),
                   torch.as_tensor(train_labels).cpu(), torch.as_tensor(test_labels).cpu())

    def nearest(self, space: str, index: int, n: int = N_NEIGHBOURS) -> torch.Tensor:
        """Indices (n,) of the training rows nearest (Euclidean) to test row `index` in `space`, nearest first."""
        train, test = self.spaces[space]
        distances = self.train_norms[space] - 2 * (train @ test[index])   # (N,) squared distance - |q|^2
        return distances.topk(n, largest=False).indices

    def row(self, space: str, index: int, n: int = N_NEIGHBOURS) -> torch.Tensor:
        """(1 + n, 784): test image `index`, then its n nearest training images in `space`."""
        return torch.cat([self.test_images[index:index + 1], self.train_images[self.nearest(space, index, n)]])


def neighbour_explorer(search: NeighbourSearch, n: int = N_NEIGHBOURS) -> Explorer:
    """A slider over the test images; each move draws one row per space: the query, a blank, its n neighbours."""
    import ipywidgets as widgets

    blank = torch.ones(1, search.test_images.shape[1])   # white: sets the query apart from its neighbours

    def render(index: int) -> bytes:
        with one_thread():
            rows = [search.row(space, index, n) for space in search.spaces]        # each (1 + n, 784)
        return to_png(torch.cat([torch.cat([row[:1], blank, row[1:]]) for row in rows]), nrow=n + 2)

    slider = widgets.IntSlider(value=0, min=0, max=len(search.test_images) - 1, description="test image",
                               continuous_update=True, layout=widgets.Layout(width="600px"))
    caption = f"rows: {', '.join(search.spaces)}; a test digit, then its {n} nearest training images;"
    return Explorer(render, {"index": slider}, css_class="lab-neighbour-explorer", caption=caption)


def first_of_each_digit(test_labels, digits: Sequence[int]) -> list[int]:
    """The index of the first test image of each digit in `digits`."""
    labels = torch.as_tensor(test_labels)
    return [int((labels == d).nonzero()[0]) for d in digits]


def neighbour_figure(search: NeighbourSearch, queries: Sequence[int], n: int = N_NEIGHBOURS):
    """For each query, one row per space: the query and its n nearest training images, each row labelled
    with how many of them show the query's digit."""
    from labutils.plots import plot_image_rows

    rows = {}
    for index in queries:
        digit = int(search.test_labels[index])
        for space in search.spaces:
            same = int((search.train_labels[search.nearest(space, index, n)] == digit).sum())
            label = f"test image {index}, {space}:\n{same} of {n} are {digit}s"
            rows[label] = search.row(space, index, n).reshape(-1, *IMAGE_SHAPE)
    return plot_image_rows(rows, "Test digits (left) and their nearest training images in each space",
                           captions=["query"] + [f"{i}." for i in range(1, n + 1)])
