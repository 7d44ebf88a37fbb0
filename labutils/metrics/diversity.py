"""Does a generator cover the data, or only part of it? Precision and recall in a feature space.

One distance (FID, SWD) mixes two failures: generated images unlike any real one (low quality) and
real images unlike any generated one (low diversity, e.g. mode collapse). The improved precision
and recall of Kynkäänniemi et al. 2019 ("Improved Precision and Recall Metric for Assessing
Generative Models", NeurIPS) separate them. Each set of features is given a manifold, the union of
balls around its points, each ball's radius the distance to the point's k-th nearest neighbour in
its own set (k = 3 in the paper). Precision is the fraction of generated points inside the real
manifold, recall the fraction of real points inside the generated manifold. A collapsed generator
scores high precision and low recall.

`precision_recall` wraps torch-fidelity's implementation (`torch_fidelity.metric_prc`, torch-fidelity
>= 0.4, pinned in requirements/constraints.txt), which can be called on precomputed feature tensors:
only its `calculate_prc` needs its VGG-16 extractor, whose weights are a download. We call it in its
batched mode, so 10 000 x 10 000 points need (batch_size x 10 000) distances at a time, not all.

`pixel_features` is the feature space used for the art, where no pretrained network can be had
offline; `diversity_against_floor` reports the measurement with its floor, two real samples of the
same size (what a perfect generator would score: with n images neither number reaches 1), and its
spread over repeated draws, each of other real images and of other generated ones.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from labutils.metrics.uncertainty import repeat_interval

NEIGHBOURHOOD = 3  # k of the paper: each ball's radius is the distance to the 3rd nearest neighbour


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = NEIGHBOURHOOD,
                     batch_size: int = 1024) -> dict[str, float]:
    """Improved precision and recall of features `fake` (M, D) against `real` (N, D).

    Returns {"precision", "recall", "k", "n_real", "n_fake"}. A point is inside a ball when its distance
    to the centre is at most the radius (the paper's and torch-fidelity's <=).
    """
    from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

    if real.dim() != 2 or fake.dim() != 2 or real.shape[1] != fake.shape[1]:
        raise ValueError(f"real and fake must be (N, D) and (M, D) features, got shapes {tuple(real.shape)} "
                         f"and {tuple(fake.shape)}.")
    if k < 1 or min(len(real), len(fake)) <= k:
        raise ValueError(f"Need k >= 1 and more than k = {k} points in each set, got {len(real)} real and "
                         f"{len(fake)} generated.")
    # torch-fidelity's order is (generated, real); save_cpu_ram: distances one batch of rows at a time.
    scores = prc_features_to_metric(fake.float(), real.float(), prc_neighborhood=k, prc_batch_size=batch_size,
                                    save_cpu_ram=True, verbose=False)
    return {"precision": float(scores[KEY_METRIC_PRECISION]), "recall": float(scores[KEY_METRIC_RECALL]),
            "k": k, "n_real": len(real), "n_fake": len(fake)}


def pixel_features(images: torch.Tensor, size: int = 16) -> torch.Tensor:
    """uint8 images (N, C, H, W) -> float features (N, C * size * size) in [0, 1]: the images averaged
    down to size x size pixels (area interpolation).

    They see colour layout and coarse composition (where the dark, light and coloured masses lie),
    not texture, brushwork or edges finer than H / size pixels: two paintings with the same blocks of
    colour but different strokes are neighbours here.
    """
    if images.dim() != 4:
        raise ValueError(f"images must be (N, C, H, W), got shape {tuple(images.shape)}.")
    small = F.interpolate(images.float() / 255.0, size=(size, size), mode="area")  # each pixel: a block's mean
    return small.flatten(1)


def _ratio(value: float, floor: float) -> float:
    return value / floor if floor > 0 else float("nan")  # a floor of 0: too few images to measure anything


def _summary(values: list[float]) -> dict[str, float]:
    spread = repeat_interval(values)  # the middle 95% of the repeats
    return {"mean": spread["estimate"], "low": spread["low"], "high": spread["high"]}


def diversity_against_floor(features: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                            fake: torch.Tensor, n: int, repeats: int = 10, k: int = NEIGHBOURHOOD,
                            seed: int = 0) -> dict:
    """Precision and recall of n generated images against n real ones, beside the floor (the same n real
    images against n others), for `repeats` draws: repeat r draws its real images at random (seeded with
    seed + r) and measures its own n generated ones, fake[r * n:(r + 1) * n] (draw them from fresh noise).

    real: at least 2n images; fake: at least repeats x n. `features` maps a batch of images to (N, D)
    features; it is called once on `real` and once on `fake`.
    Returns {"precision", "recall", "floor_precision", "floor_recall", "precision_ratio", "recall_ratio"}
    (one value per repeat; ratio: the generator's value over the floor's), "n", "k", "repeats", and
    "summary": for each list, {"mean", "low", "high"}, low and high its 2.5 and 97.5 percentiles.

    The spread is that of the measurement (which real and generated images were drawn), not that of
    training: another training seed can move the numbers further.
    """
    if len(real) < 2 * n:
        raise ValueError(f"Need at least 2n = {2 * n} real images for the reference and the floor's second "
                         f"sample, got {len(real)}: pass a smaller n (at most {len(real) // 2}) or more real images.")
    if len(fake) < repeats * n:
        raise ValueError(f"Need repeats x n = {repeats * n} generated images, each repeat its own n, got {len(fake)}: "
                         "generate more or pass a smaller n or fewer repeats.")
    real_features, fake_features = features(real), features(fake)  # once per set; the repeats index into them
    lists: dict[str, list[float]] = {key: [] for key in ("precision", "recall", "floor_precision", "floor_recall",
                                                         "precision_ratio", "recall_ratio")}
    for r in range(repeats):
        g = torch.Generator().manual_seed(seed + r)
        order = torch.randperm(len(real), generator=g)
        reference, other = real_features[order[:n]], real_features[order[n:2 * n]]  # disjoint
        generated = fake_features[r * n:(r + 1) * n]  # this repeat's own generated images
        score, floor = precision_recall(reference, generated, k), precision_recall(reference, other, k)
        lists["precision"].append(score["precision"])
        lists["recall"].append(score["recall"])
        lists["floor_precision"].append(floor["precision"])
        lists["floor_recall"].append(floor["recall"])
        lists["precision_ratio"].append(_ratio(score["precision"], floor["precision"]))
        lists["recall_ratio"].append(_ratio(score["recall"], floor["recall"]))
    return {**lists, "n": n, "k": k, "repeats": repeats,
            "summary": {key: _summary(values) for key, values in lists.items()}}
