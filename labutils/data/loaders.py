"""Fast batches from tensors that are already in memory.

MNIST (47 MB as uint8) and the art images (2872 x 3 x 64 x 64 uint8 = 35 MB) fit on any
device, so a batch is one indexing operation on a resident tensor: no Dataset, no per-sample
Python transform, no worker processes. Conversion to float and augmentation happen per
batch, on the training device.
"""
from __future__ import annotations

import hashlib
from typing import Callable, Iterator

import torch

from labutils.config import AEConfig
from labutils.data.mnist import MNIST

EVAL_BATCH_SIZE = 1000
# NHWC ("channels last") memory: cuDNN's fastest convolutions, and oneDNN's on the CPU (the 64 px
# GAN step is ~12% faster on the 2-core CPU). MPS gains nothing from it.
CHANNELS_LAST_DEVICES = ("cuda", "cpu")

BatchTransform = Callable[[torch.Tensor, torch.Generator | None], torch.Tensor]


def to_unit_interval(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 (B, ...) in 0..255 -> float (B, ...) in [0, 1], as `transforms.ToTensor()` does."""
    return images.float().div_(255.0)


def to_signed_unit_interval(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """uint8 in 0..255 -> float in [-1, 1]: `Normalize(0.5, 0.5)` after `ToTensor()`, for a Tanh generator."""
    return images.float().div_(127.5).sub_(1.0)


def random_horizontal_flip(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Flip each image of a (B, C, H, W) batch left-right with probability 1/2, in one op."""
    flip = torch.rand(images.shape[0], device=images.device, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def to_channels_last(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) stored as NHWC: the layout cuDNN convolves fastest, matching channels-last models."""
    return images.contiguous(memory_format=torch.channels_last)


def compose(*transforms: BatchTransform) -> BatchTransform:
    """Chain batch transforms left to right."""
    def composed(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for transform in transforms:
            images = transform(images, generator)
        return images
    return composed


class TensorLoader:
    """Iterate over `(x, y, ...)` batches of tensors by indexing a seeded permutation.

    A drop-in for `DataLoader` over in-memory data: `len(loader)` batches per epoch, a fresh
    permutation each epoch when `shuffle`, and `transform(x)` applied to the first tensor of
    each batch. The permutation's generator state is part of `state_dict()`, so a resumed run
    sees the same batches as an uninterrupted one.
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        transform: BatchTransform | None = None,
        device: torch.device | str | None = None,
        seed: int = 0,
    ):
        if not tensors:
            raise ValueError("TensorLoader needs at least one tensor.")
        n = tensors[0].shape[0]
        if any(t.shape[0] != n for t in tensors):
            raise ValueError(f"All tensors need the same first dimension; got {[t.shape[0] for t in tensors]}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
        device = torch.device(device) if device is not None else tensors[0].device
        self.tensors = tuple(t.to(device) for t in tensors)
        self.device = device
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.transform = transform
        self.seed = seed
        # The permutation is drawn on the CPU so that it is the same on every device.
        self.generator = torch.Generator().manual_seed(seed)
        # Augmentation draws on the data's device; seeded from the same seed.
        self.device_generator = torch.Generator(device=device).manual_seed(seed + 1)

    @property
    def num_samples(self) -> int:
        return self.tensors[0].shape[0]

    def __len__(self) -> int:
        if self.drop_last:
            return self.num_samples // self.batch_size
        return -(-self.num_samples // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_samples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.device)
        else:
            order = None
        for i in range(len(self)):
            start, stop = i * self.batch_size, min((i + 1) * self.batch_size, n)
            if order is None:
                batch = [t[start:stop] for t in self.tensors]
            else:
                index = order[start:stop]
                batch = [t.index_select(0, index) for t in self.tensors]
            if self.transform is not None:
                batch[0] = self.transform(batch[0], self.device_generator)
            yield tuple(batch)

    def state_dict(self) -> dict:
        """Both generators' states, the device generator's with its device type: a CPU generator's state
        (Mersenne Twister, 5056 bytes) cannot be restored into a CUDA one (Philox seed and offset, 16 bytes)."""
        return {"generator": self.generator.get_state(), "device_generator": self.device_generator.get_state(),
                "device_type": self.device.type}

    def load_state_dict(self, state: dict) -> None:
        """Restore the batches' order exactly, and the augmentation's generator where it was saved on the
        same type of device. Saved on another (a run trained on a GPU, resumed on a CPU, or the reverse),
        that generator is reseeded instead, from the loader's seed and the saved states, which move on
        every epoch: a resumed run is then repeatable, though not the run it would have been there."""
        self.generator.set_state(state["generator"])
        saved = state["device_generator"]
        # Checkpoints from before the device type was saved: a state of this generator's size is its own.
        saved_type = state.get("device_type") or (
            self.device.type if saved.numel() == self.device_generator.get_state().numel() else "another device")
        if saved_type == self.device.type:
            self.device_generator.set_state(saved)
        else:
            self.device_generator.manual_seed(self._reseed(state["generator"], saved))

    def _reseed(self, *saved_states: torch.Tensor) -> int:
        """A seed for the device generator from the loader's seed and saved generator states (63 bits)."""
        digest = hashlib.sha256(str(self.seed).encode())
        for saved in saved_states:
            digest.update(saved.cpu().numpy().tobytes())
        return int.from_bytes(digest.digest()[:8], "little") >> 1


# --- MNIST for the AE and VAE -------------------------------------------------------------------


def mnist_subset(mnist: MNIST, config: AEConfig, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels) of `split` that a model of `config` sees: the first train_size / test_size."""
    images, labels = (mnist.train_images, mnist.train_labels) if split == "train" else (mnist.test_images, mnist.test_labels)
    n = (config.train_size if split == "train" else config.test_size) or len(images)
    return images[:n], labels[:n]


def mnist_loaders(mnist: MNIST, config: AEConfig, device: torch.device) -> tuple[TensorLoader, TensorLoader]:
    """Shuffled training batches and ordered test batches, resident on `device`, pixels in [0, 1]."""
    train = TensorLoader(*mnist_subset(mnist, config, "train"), batch_size=config.batch_size,
                         shuffle=True, transform=to_unit_interval, device=device, seed=config.seed)
    test = TensorLoader(*mnist_subset(mnist, config, "test"), batch_size=EVAL_BATCH_SIZE,
                        transform=to_unit_interval, device=device)
    return train, test


def ordered_loaders(mnist: MNIST, config: AEConfig, device: torch.device,
                    batch_size: int = EVAL_BATCH_SIZE) -> tuple[TensorLoader, TensorLoader]:
    """Unshuffled train and test loaders over exactly the images a model of `config` saw.

    The subsets of `mnist_subset` (first `train_size` / `test_size` images), but in a fixed
    order, so codes, pixels and labels of different models line up row by row.
    """
    return tuple(TensorLoader(*mnist_subset(mnist, config, split), batch_size=batch_size,
                              transform=to_unit_interval, device=device) for split in ("train", "test"))
