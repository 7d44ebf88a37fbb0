"""Fréchet distances between generated and real images, each beside its floor.

- `fid_against_floor`: the Fréchet Inception Distance (Heusel et al. 2017) as papers report it: the
  2048 pool features of the TensorFlow Inception-v3 graph that the original FID code uses
  (`pt_inception-2015-12-05`, ported to PyTorch by torch-fidelity, Obukhov et al. 2020, with its
  TensorFlow-exact bilinear resize to 299 x 299). Where the weights cannot be had (offline and no
  local file) it returns None, and the lab reports the FID as "unavailable".
- `frechet_against_floor`: the same distance in any other network's features (on MNIST, the lab's
  digit classifier).

Where the weights come from, first found first used:
1. the file named by the environment variable `LAB_FID_WEIGHTS`;
2. `torch.hub.get_dir()/checkpoints/` (`$TORCH_HOME/hub/checkpoints`, by default
   `~/.cache/torch/hub/checkpoints`), under torch-fidelity's name or pytorch-fid's (the same weights);
3. a download by torch-fidelity into that folder (about 100 MB, once), unless `download=False` or
   `LAB_FID_DOWNLOAD=0`. Every network operation has a `DOWNLOAD_TIMEOUT_S` timeout, so an offline
   machine gets None in seconds (a failed name lookup: at once), never a hang or a prompt.

The distance depends on the number of images, so the lab reports it beside the floor: the same n
real images against n other real ones (what a perfect generator would reach).
"""
from __future__ import annotations

import os
import pickle
import socket
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import torch

from labutils.metrics.frechet import frechet_distance

UNAVAILABLE = "unavailable"
WEIGHTS_ENV = "LAB_FID_WEIGHTS"  # path to a weights file, used before any other
DOWNLOAD_ENV = "LAB_FID_DOWNLOAD"  # "0" (or false/no/off): never download
WEIGHTS_FILES = ("weights-inception-2015-12-05-6726825d.pth",  # torch-fidelity's download
                 "pt_inception-2015-12-05-6726825d.pth")  # pytorch-fid's, the same network and keys
DOWNLOAD_TIMEOUT_S = 20  # per connection attempt and per read; a download that stalls this long fails
FEATURES = "2048"  # torch-fidelity's name for the pool features FID uses


def fid_weights_dir() -> Path:
    """The folder searched for the weights and downloaded into: torch.hub's checkpoints folder."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def find_inception_weights() -> tuple[Path | None, str]:
    """(the weights file, "") or (None, why none is here). Never downloads.

    A `LAB_FID_WEIGHTS` that names a missing file is a reason, not a fallback: the user chose that file.
    """
    chosen = os.environ.get(WEIGHTS_ENV)
    if chosen:
        path = Path(chosen).expanduser()
        return (path, "") if path.is_file() else (None, f"{WEIGHTS_ENV}={chosen} is not a file")
    for name in WEIGHTS_FILES:
        if (fid_weights_dir() / name).is_file():
            return fid_weights_dir() / name, ""
    return None, f"no {WEIGHTS_FILES[0]} in {fid_weights_dir()} ({WEIGHTS_ENV} unset)"


def inception_weights_path() -> Path | None:
    """The Inception weights file on this machine, or None (see `find_inception_weights`)."""
    return find_inception_weights()[0]


def inception_weights_available() -> bool:
    """Whether the FID can be computed here without downloading anything."""
    return inception_weights_path() is not None


def download_allowed(download: bool | None = None) -> bool:
    """`download` if given, else the environment: allowed unless `LAB_FID_DOWNLOAD` is 0/false/no/off."""
    if download is not None:
        return download
    return os.environ.get(DOWNLOAD_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


@contextmanager
def _network_timeout(seconds: float) -> Iterator[None]:
    """Sockets opened inside get a timeout (torch.hub's download sets none: a dropped connection would
    otherwise wait for the operating system's, minutes). Process-wide while it lasts."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _inception(path: Path | None, device: torch.device) -> torch.nn.Module:
    """torch-fidelity's Inception-v3 from `path`; None: torch-fidelity downloads it into `fid_weights_dir()`."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    with _network_timeout(DOWNLOAD_TIMEOUT_S):
        model = FeatureExtractorInceptionV3("inception-v3-compat", [FEATURES], verbose=False,
                                            feature_extractor_weights_path=None if path is None else str(path))
    return model.eval().to(device)


@torch.no_grad()
def inception_features(images: torch.Tensor, model: torch.nn.Module, batch_size: int = 64) -> torch.Tensor:
    """(N, C, S, S) uint8 images -> (N, D) float64 features (D = 2048 for Inception).

    Grey images are repeated to RGB; the network itself resizes to 299 x 299 and scales to [-1, 1],
    as the TensorFlow FID code does, so the images go in as they are.
    """
    if images.dim() != 4 or images.dtype != torch.uint8 or images.shape[1] not in (1, 3):
        raise ValueError(f"FID needs uint8 images (N, 1 or 3, S, S), got {images.dtype} {tuple(images.shape)}.")
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)  # (B, C, S, S) uint8
        if x.shape[1] == 1:
            x = x.repeat(1, 3, 1, 1)  # (B, 1, S, S) -> (B, 3, S, S)
        (features,) = model(x)  # torch-fidelity returns one tensor per requested layer: (B, D)
        out.append(features.cpu())
    return torch.cat(out).double()


def _two_real_samples(real: torch.Tensor, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint random sets of n real images (seeded): the reference, and the floor's second sample."""
    if n < 2 or len(real) < 2 * n:
        raise ValueError(f"Need at least 2n = {2 * n} real images (n >= 2), got {len(real)}.")
    order = torch.randperm(len(real), generator=torch.Generator().manual_seed(seed))
    return real[order[:n]], real[order[n:2 * n]]


def frechet_against_floor(features: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                          fake: torch.Tensor, n: int, seed: int = 0) -> dict[str, float]:
    """Fréchet distance between Gaussians fitted to `features(images)` of n generated and n real images,
    and its floor (the same n real images against n others). Returns {"distance", "floor", "n"}."""
    if len(fake) < n:
        raise ValueError(f"Need n = {n} generated images, got {len(fake)}.")
    reference, other = _two_real_samples(real, n, seed)
    f_ref = features(reference)
    return {"distance": float(frechet_distance(f_ref, features(fake[:n]))),
            "floor": float(frechet_distance(f_ref, features(other))), "n": n}


def fid_against_floor(real: torch.Tensor, fake: torch.Tensor, n: int, seed: int = 0,
                      device: torch.device | str = "cpu", *, download: bool | None = None) -> dict[str, float] | None:
    """The standard FID of n generated images against n real ones, and its floor; None where the
    Inception weights cannot be had, after printing one line that says why.

    real: (N, C, S, S) uint8 with N >= 2n; fake: at least n, same format. Returns {"distance", "floor", "n"}.
    `download`: whether torch-fidelity may fetch missing weights (None: unless `LAB_FID_DOWNLOAD=0`).
    """
    path, why = find_inception_weights()
    if path is None and os.environ.get(WEIGHTS_ENV):
        print(f"FID {UNAVAILABLE}: {why}.")  # the user's chosen file is missing: no download instead
        return None
    if path is None and not download_allowed(download):
        print(f"FID {UNAVAILABLE}: {why}; downloads are off ({DOWNLOAD_ENV} or download=False).")
        return None
    try:
        model = _inception(path, torch.device(device))
    except ImportError as error:
        print(f"FID {UNAVAILABLE}: torch-fidelity is not installed ({error}).")
        return None
    except OSError as error:  # URLError, HTTPError, timeouts, a full disk: the download (or the read) failed
        failed = f"reading {path} failed" if path else f"{why}, and the download failed"
        print(f"FID {UNAVAILABLE}: {failed} ({type(error).__name__}: {error}).")
        return None
    except (RuntimeError, pickle.UnpicklingError) as error:  # a local file that is not these weights: say which
        if path is None:
            raise
        raise RuntimeError(f"{path} is not the FID Inception-v3 weights file ({error}).") from error
    return frechet_against_floor(lambda x: inception_features(x, model), real, fake, n, seed)
