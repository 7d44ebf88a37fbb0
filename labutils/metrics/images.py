"""Measuring generated images against real ones, beyond looking at them.

- `swd`: the sliced Wasserstein distance between the local image patches of two sets, on each
  level of a Laplacian pyramid (Karras et al. 2018, "Progressive Growing of GANs for Improved
  Quality, Stability, and Variation", section 5 and their `sliced_wasserstein.py`). It needs no
  pretrained network, so it works on any data and any machine. Fine levels compare texture
  and edges, the coarsest compares colour and layout.
- `fid_against_floor`: the standard Fréchet Inception Distance (Heusel et al. 2017) in the TensorFlow
  Inception-v3 features that published FIDs use, or None where those weights cannot be had, which
  the lab reports as "unavailable". `frechet_against_floor` is the same distance in any other
  network's features (on MNIST, the lab's digit classifier). Both live in `labutils.metrics.fid`
  (where the weights are looked for, and how to place them) and are re-exported here.
- `nearest_neighbours`: for each generated image, the closest training image ("does it copy?").

Both distances depend on the number of images compared, so a number means little alone:
the lab always reports it beside the same distance between two real samples of the same size
(the *floor*, what a perfect generator would reach).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from labutils.metrics.fid import _two_real_samples  # the floor's two disjoint real samples, as the FID draws them
from labutils.metrics.fid import (DOWNLOAD_ENV, UNAVAILABLE, WEIGHTS_ENV, WEIGHTS_FILES,  # noqa: F401 (re-exported)
                                  download_allowed, fid_against_floor, fid_weights_dir, find_inception_weights,
                                  frechet_against_floor, inception_features, inception_weights_available,
                                  inception_weights_path)

# Karras et al.'s settings (sliced_wasserstein.py and metrics config).
PATCH_SIZE = 7  # neighbourhood side: 7 x 7 pixels per descriptor
PATCHES_PER_IMAGE = 128  # descriptors drawn per image and pyramid level
DIRECTIONS = 128  # random projections per repeat
REPEATS = 4  # repeats, each with fresh directions
MIN_RESOLUTION = 16  # coarsest pyramid level
SWD_SCALE = 1e3  # the paper reports SWD x 10^3; so does the lab
REPEAT_SEED_STRIDE = 1000  # `swd_repeats`' seeds: no two repeats share a real sample, patches or directions
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16  # the pyramid's 5-tap Gaussian (Burt & Adelson)


def _as_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 or float images (N, C, H, W) -> float32. The scale is irrelevant: descriptors are normalised."""
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}.")
    return images.float()


def _blur(images: torch.Tensor) -> torch.Tensor:
    """Separable 5 x 5 binomial blur of (N, C, H, W), reflecting at the borders."""
    c = images.shape[1]
    k = _BINOMIAL.to(images.device, images.dtype)
    padded = F.pad(images, (2, 2, 2, 2), mode="reflect")
    out = F.conv2d(padded, k.view(1, 1, 1, 5).expand(c, 1, 1, 5), groups=c)
    return F.conv2d(out, k.view(1, 1, 5, 1).expand(c, 1, 5, 1), groups=c)


def _pyr_down(images: torch.Tensor) -> torch.Tensor:
    return _blur(images)[:, :, ::2, ::2]  # (N, C, H, W) -> (N, C, H/2, W/2)


def _pyr_up(images: torch.Tensor) -> torch.Tensor:
    n, c, h, w = images.shape
    up = images.new_zeros(n, c, 2 * h, 2 * w)
    up[:, :, ::2, ::2] = images
    return _blur(up) * 4  # (N, C, H, W) -> (N, C, 2H, 2W): zeros inserted, then blurred (x4 keeps the mean)


def laplacian_pyramid(images: torch.Tensor, min_resolution: int = MIN_RESOLUTION) -> list[torch.Tensor]:
    """Band-pass levels from full resolution down to `min_resolution`, the last one the low-pass residual.

    64 x 64 images give [64 (finest detail), 32, 16 (blurred image)]; summing the levels back up
    reconstructs the image exactly.
    """
    images = _as_float(images)
    levels, current = [], images
    while current.shape[-1] > min_resolution:
        smaller = _pyr_down(current)
        levels.append(current - _pyr_up(smaller))
        current = smaller
    levels.append(current)
    return levels


def _patches(level: torch.Tensor, per_image: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """`per_image` random size x size patches of each image: (N, C, H, W) -> (N * per_image, C, size, size)."""
    n, c, h, w = level.shape
    ys = torch.randint(0, h - size + 1, (n, per_image), generator=generator)
    xs = torch.randint(0, w - size + 1, (n, per_image), generator=generator)
    offsets = torch.arange(size)
    rows = (ys[..., None] + offsets).to(level.device)  # (N, P, size)
    cols = (xs[..., None] + offsets).to(level.device)
    index_n = torch.arange(n, device=level.device)[:, None, None, None]
    patches = level.permute(0, 2, 3, 1)[index_n, rows[..., :, None], cols[..., None, :]]  # (N, P, size, size, C)
    return patches.permute(0, 1, 4, 2, 3).reshape(n * per_image, c, size, size)


def _normalise(descriptors: torch.Tensor) -> torch.Tensor:
    """Each colour channel to zero mean and unit variance over the whole set, then flattened (Karras et al.).

    Every set is normalised with its own statistics, as in Karras et al.'s code: the distance compares
    the shapes of the two patch distributions, and ignores a global shift of colour or contrast.
    """
    mean = descriptors.mean(dim=(0, 2, 3), keepdim=True)
    std = descriptors.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
    return ((descriptors - mean) / std).flatten(1)  # (M, C, 7, 7) -> (M, C * 49)


def patch_descriptors(images: torch.Tensor, seed: int = 0, patches_per_image: int = PATCHES_PER_IMAGE,
                      patch_size: int = PATCH_SIZE, min_resolution: int = MIN_RESOLUTION,
                      batch_size: int = 256) -> list[torch.Tensor]:
    """Normalised patch descriptors of every pyramid level: a list of (N * patches_per_image, C * 7 * 7).

    Computed in batches of images so that a large set never holds its whole pyramid in memory.
    """
    generator = torch.Generator().manual_seed(seed)
    per_level: list[list[torch.Tensor]] = []
    for start in range(0, len(images), batch_size):
        levels = laplacian_pyramid(images[start:start + batch_size], min_resolution)
        if not per_level:
            per_level = [[] for _ in levels]
        for store, level in zip(per_level, levels):
            store.append(_patches(level, patches_per_image, patch_size, generator))
    return [_normalise(torch.cat(store)) for store in per_level]


def _sort_columns(x: torch.Tensor) -> torch.Tensor:
    """Sort each column. On the CPU NumPy's sort is several times faster than torch's for this shape,
    and faster again along contiguous memory: the columns are sorted as rows of the transpose."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.sort(x.T.contiguous().numpy(), axis=1)).T.contiguous()
    return torch.sort(x, dim=0).values


def sorted_projections(descriptors: torch.Tensor, directions: int = DIRECTIONS, repeats: int = REPEATS,
                       seed: int = 0) -> list[torch.Tensor]:
    """For each repeat, the projections of (M, D) descriptors on `directions` random unit directions,
    each column sorted: `repeats` tensors (M, directions). The same seed gives the same directions,
    so one set's projections can be kept and compared with many others (the in-training monitor)."""
    generator = torch.Generator().manual_seed(seed)
    projections = []
    for _ in range(repeats):
        dirs = torch.randn(descriptors.shape[1], directions, generator=generator).to(descriptors.device)
        dirs /= dirs.norm(dim=0, keepdim=True)  # unit directions, (D, directions)
        projections.append(_sort_columns(descriptors @ dirs))  # (M, directions)
    return projections


def sliced_wasserstein_sorted(proj_a: list[torch.Tensor], proj_b: list[torch.Tensor]) -> float:
    """`sliced_wasserstein` from two sets' `sorted_projections` (same directions, same sizes)."""
    return float(torch.stack([(a - b).abs().mean() for a, b in zip(proj_a, proj_b)]).mean())


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: int = DIRECTIONS, repeats: int = REPEATS,
                       seed: int = 0) -> float:
    """Sliced Wasserstein distance between two equal-size point sets (M, D).

    Project both sets on random unit directions; in one dimension the Wasserstein-1 distance
    between two samples of equal size is the mean gap between their sorted values.
    Averaged over directions and repeats.
    """
    if a.shape != b.shape:
        raise ValueError(f"Both descriptor sets need the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    return sliced_wasserstein_sorted(sorted_projections(a, directions, repeats, seed),
                                     sorted_projections(b, directions, repeats, seed))


def level_names(image_size: int, min_resolution: int = MIN_RESOLUTION) -> list[str]:
    """Names of the pyramid levels: ["64px", "32px", "16px"] for 64 x 64 images."""
    names, res = [], image_size
    while res > min_resolution:
        names.append(f"{res}px")
        res //= 2
    return names + [f"{res}px"]


def swd_from_descriptors(desc_a: list[torch.Tensor], desc_b: list[torch.Tensor], image_size: int,
                         seed: int = 0) -> dict[str, float]:
    """`swd` for descriptors computed beforehand with `patch_descriptors` (reuse a reference set's)."""
    result = {name: SWD_SCALE * sliced_wasserstein(a, b, seed=seed + i)
              for i, (name, a, b) in enumerate(zip(level_names(image_size), desc_a, desc_b))}
    result["average"] = sum(result.values()) / len(result)
    return result


def swd(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> dict[str, float]:
    """Sliced Wasserstein distance (x 10^3) between two image sets of the same size, per pyramid level.

    real, fake: (N, C, S, S), uint8 or float, any consistent scale. Returns {"64px": ..., "32px": ...,
    "16px": ..., "average": ...} for 64 x 64 images; lower is closer, and two samples of the same
    distribution give a small positive value (the floor), not zero.
    """
    if real.shape != fake.shape:
        raise ValueError(f"real and fake need the same shape (N, C, S, S), got {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}.")
    return swd_from_descriptors(patch_descriptors(real, seed), patch_descriptors(fake, seed + 1),
                                real.shape[-1], seed=seed + 2)


# --- Does the generator copy its training images? ------------------------------------------------


@torch.no_grad()
def nearest_neighbours(queries: torch.Tensor, pool: torch.Tensor, batch_size: int = 512) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query image, the index of and the distance to its nearest image in `pool`.

    Both (N, C, S, S) on the same scale; distance is the root-mean-square pixel difference.
    A generator that memorised its training set shows neighbours that are near-identical copies.
    """
    q = queries.float().flatten(1)
    best_d = torch.full((len(q),), float("inf"))
    best_i = torch.zeros(len(q), dtype=torch.long)
    for start in range(0, len(pool), batch_size):
        chunk = pool[start:start + batch_size].float().flatten(1).to(q.device)
        d, i = torch.cdist(q, chunk).min(dim=1)  # (Nq, chunk) -> nearest in this chunk
        better = d.cpu() < best_d
        best_d[better], best_i[better] = d.cpu()[better], i.cpu()[better] + start
    return best_i, best_d / q.shape[1] ** 0.5


class SWDReference:
    """n real images to measure many generated sets against: the real side's descriptors, sorted
    projections and floor (the same n real images against n others, two disjoint seeded draws of
    `real`) are computed once. `measure(fake)` gives exactly what `swd_against_floor` gives."""

    def __init__(self, real: torch.Tensor, n: int, seed: int = 0, patches_per_image: int = PATCHES_PER_IMAGE):
        reference, other = _two_real_samples(real, n, seed)
        self.n, self.seed, self.patches_per_image = n, seed, patches_per_image
        self.device, self.levels = real.device, level_names(real.shape[-1])
        descriptors = patch_descriptors(reference, seed=seed, patches_per_image=patches_per_image)
        self._projections = [sorted_projections(d, seed=s) for d, s in zip(descriptors, self._level_seeds())]
        self.floor = self.distance(other)

    def _level_seeds(self) -> range:
        return range(self.seed + 2, self.seed + 2 + len(self.levels))  # as `swd_from_descriptors` seeds them

    def distance(self, images: torch.Tensor) -> dict[str, float]:
        """SWD x 10^3 per pyramid level, and their "average", between the real sample and `images` (n)."""
        descriptors = patch_descriptors(images, seed=self.seed + 1, patches_per_image=self.patches_per_image)
        result = {name: SWD_SCALE * sliced_wasserstein_sorted(real, sorted_projections(d, seed=s))
                  for name, real, d, s in zip(self.levels, self._projections, descriptors, self._level_seeds())}
        result["average"] = sum(result.values()) / len(result)
        return result

    def measure(self, fake: torch.Tensor) -> dict:
        """{"n", "swd": {level: value}, "floor": {level: value}}, each with its "average"."""
        if len(fake) < self.n:
            raise ValueError(f"Need n = {self.n} generated images, got {len(fake)}.")
        return {"n": self.n, "swd": self.distance(fake[:self.n]), "floor": self.floor}


def swd_against_floor(real: torch.Tensor, fake: torch.Tensor, n: int, seed: int = 0) -> dict:
    """The distance of n generated images to n real ones, and the floor: the same n real images
    against n other real ones (two disjoint random draws of `real`, seeded).

    real: (N, C, S, S) with N >= 2n; fake: at least n images. Returns {"n", "swd": {level: value},
    "floor": {level: value}}, each with its "average". To measure several generated sets against the
    same real images, keep one `SWDReference`.
    """
    if len(fake) < n:
        raise ValueError(f"Need n = {n} generated images, got {len(fake)}.")
    return SWDReference(real, n, seed).measure(fake)


def swd_repeats(real: torch.Tensor, fakes: dict[str, torch.Tensor], n: int, repeats: int, seed: int = 0) -> dict:
    """Each generated set's SWD average against `repeats` different real samples, with the floor of each.
    Repeat r measures its own n generated images, `fakes[name][r * n:(r + 1) * n]` (draw them from fresh
    noise), with fresh patches and projections: the spread a verdict reads holds the generator's sampling
    noise as well as the real sample's. Every set is measured against the same real samples, so
    differences between sets are paired per repeat.

    fakes: {name: at least repeats x n generated images}. Returns {"floor": [per repeat], name: [per
    repeat], ..., "n", "repeats", "seeds"}.
    """
    for name, fake in fakes.items():
        if len(fake) < repeats * n:
            raise ValueError(f"{name}: need repeats x n = {repeats * n} generated images, each repeat its own n, got "
                             f"{len(fake)}: generate more or pass fewer repeats.")
    # Far apart: SWDReference seeds its sample, patches and each level's directions with seed, seed + 1, ...
    seeds = [seed + REPEAT_SEED_STRIDE * r for r in range(repeats)]
    out: dict = {"floor": [], **{name: [] for name in fakes}, "n": n, "repeats": repeats, "seeds": seeds}
    for r, s in enumerate(seeds):
        reference = SWDReference(real, n, seed=s)
        out["floor"].append(reference.floor["average"])
        for name, fake in fakes.items():
            out[name].append(reference.measure(fake[r * n:(r + 1) * n])["swd"]["average"])
    return out
