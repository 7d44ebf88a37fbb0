"""Figures that teach: each function draws one kind of figure and returns it; `save_figure` files it.

Every figure is saved under `outputs/figures/` by the notebook that makes it, so a headless
run regenerates all of them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch
from torchvision.utils import make_grid

from labutils.runtime import outputs_dir

sns.set_theme(context="notebook", style="whitegrid")


def save_figure(fig: plt.Figure, name: str) -> Path:
    """Save `fig` as `outputs/figures/<name>.png` and return the path."""
    path = outputs_dir("figures") / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return path


def plot_curves(series: Mapping[str, Sequence[float]], title: str, ylabel: str, ax: plt.Axes | None = None,
                xlabel: str = "epoch", logy: bool = False) -> plt.Figure:
    """One line per named series against epoch (1-based)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, values in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o" if len(values) < 30 else None,
                markersize=3, label=label)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    if logy:
        ax.set_yscale("log")
    ax.legend()
    return ax.figure


def grid_array(images: torch.Tensor, nrow: int, image_shape: tuple[int, ...]) -> np.ndarray:
    """(N, ...) images in [0, 1] (or uint8) -> an (H, W, C) array for imshow."""
    images = images.detach().cpu()
    if images.dtype == torch.uint8:
        images = images.float() / 255
    images = images.reshape(-1, *image_shape).clamp(0, 1)
    return make_grid(images, nrow=nrow, padding=2, pad_value=1.0).permute(1, 2, 0).numpy()


def image_grid(images: torch.Tensor, title: str, nrow: int = 8, image_shape: tuple[int, ...] = (1, 28, 28),
               ax: plt.Axes | None = None) -> plt.Figure:
    """A grid of images in [0, 1]; flat (N, 784) MNIST rows are reshaped by `image_shape`."""
    if ax is None:
        rows = -(-len(images) // nrow)
        _, ax = plt.subplots(figsize=(nrow * 0.8, rows * 0.8 + 0.5))
    ax.imshow(grid_array(images, nrow, image_shape), cmap="gray", interpolation="nearest")
    ax.set_title(title)
    ax.axis("off")
    return ax.figure


def show_reconstructions(originals: torch.Tensor, reconstructions: torch.Tensor, title: str,
                         image_shape: tuple[int, ...] = (1, 28, 28)) -> plt.Figure:
    """Originals (top row) above their reconstructions (bottom row)."""
    n = len(originals)
    pairs = torch.cat([originals.reshape(n, -1).cpu(), reconstructions.reshape(n, -1).cpu()])
    fig, ax = plt.subplots(figsize=(n * 0.8, 2.2))
    image_grid(pairs, title, nrow=n, image_shape=image_shape, ax=ax)
    ax.text(-4, 15, "original", ha="right", va="center")
    ax.text(-4, 45, "reconstruction", ha="right", va="center")
    return fig


def plot_latent_distribution(z: torch.Tensor, title: str) -> plt.Figure:
    """Spread of each latent dimension over a data set (box plots), beside all values pooled
    against the standard normal that a VAE's prior asks for."""
    z = z.detach().cpu().numpy()
    fig, (ax_dims, ax_all) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    sns.boxplot(data=z, ax=ax_dims, fliersize=0, linewidth=0.8, color="tab:blue")
    ax_dims.set(title=f"{title}: each latent dimension", xlabel="latent dimension", ylabel="value")
    ax_dims.tick_params(axis="x", labelsize=7)
    ax_all.hist(z.ravel(), bins=80, density=True, alpha=0.7, label="codes")
    grid = np.linspace(-4, 4, 200)
    ax_all.plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k--", label="N(0, 1)")
    ax_all.set(title="all dimensions pooled", xlabel="value")
    ax_all.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_kl_per_dimension(kl: Sequence[float], threshold_units: Sequence[bool], title: str) -> plt.Figure:
    """Average KL per latent dimension, active dimensions highlighted."""
    kl = np.asarray(kl)
    fig, ax = plt.subplots(figsize=(8, 3.5))
    colors = ["tab:blue" if active else "tab:gray" for active in threshold_units]
    ax.bar(np.arange(len(kl)), kl, color=colors)
    ax.set(title=title, xlabel="latent dimension", ylabel="KL (nats per image)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "tab:gray")]
    ax.legend(handles, ["active", "inactive"], fontsize=8)
    return fig


# --- Evaluation figures (notebook 03): curves side by side, KL, embeddings, structure bars, samples ---
DIGIT_COLORS = sns.color_palette("tab10", 10)


def plot_curve_panels(panels: Mapping[str, Mapping[str, Sequence[float]]], ylabels: Sequence[str],
                      logy: bool = True, xlabel: str = "epoch") -> plt.Figure:
    """Several panels of per-epoch curves, one panel per `title: {label: values}`.

    A label's first word names the model (one colour per model across all panels); labels that
    contain "train" are dashed, so train and test of the same model read as a pair.
    """
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.2), squeeze=False)
    models = list(dict.fromkeys(label.split()[0] for series in panels.values() for label in series))
    palette = dict(zip(models, sns.color_palette("deep", len(models))))
    for ax, (title, series), ylabel in zip(axes[0], panels.items(), ylabels):
        for label, values in series.items():
            style = "--" if "train" in label else ":" if "mean" in label else "-"
            ax.plot(np.arange(1, len(values) + 1), values, style, color=palette[label.split()[0]], label=label,
                    marker="o" if len(values) < 30 else None, markersize=3)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        if logy:
            ax.set_yscale("log")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_kl_summary(kl_train: Sequence[float], kl_test: Sequence[float], kl_iterations: Sequence[float],
                    kl_per_dim: Sequence[float], active: Sequence[bool]) -> plt.Figure:
    """The VAE's KL term three ways: per epoch, per training iteration (log x-axis, so the first
    iterations are visible), and per latent dimension on the test set (active units in colour)."""
    fig, (ax_epoch, ax_iter, ax_dim) = plt.subplots(1, 3, figsize=(17, 4), gridspec_kw={"width_ratios": [1, 1, 1.3]})
    epochs = np.arange(1, len(kl_train) + 1)
    ax_epoch.plot(epochs, kl_train, "--o", markersize=3, label="train")
    ax_epoch.plot(epochs, kl_test, "-o", markersize=3, label="test")
    ax_epoch.set(title="KL per epoch", xlabel="epoch", ylabel="KL (nats per image)")
    ax_epoch.legend(fontsize=8)
    kl_iterations = np.asarray(kl_iterations, dtype=float)
    steps = np.arange(1, len(kl_iterations) + 1)
    window = max(1, min(25, len(kl_iterations) // 20))
    smooth = np.convolve(kl_iterations, np.ones(window) / window, mode="valid")
    ax_iter.plot(steps, kl_iterations, color="tab:blue", alpha=0.35, linewidth=0.6, label="each batch")
    centred = steps[(window - 1) // 2:][:len(smooth)]
    ax_iter.plot(centred, smooth, color="tab:blue", label=f"mean of {window} batches")
    ax_iter.set(title="KL per training iteration", xlabel="iteration (log scale)", ylabel="KL (nats per image)",
                xscale="log")
    ax_iter.legend(fontsize=8)
    kl_per_dim = np.asarray(kl_per_dim, dtype=float)
    ax_dim.bar(np.arange(len(kl_per_dim)), kl_per_dim,
               color=["tab:blue" if a else "tab:gray" for a in active])
    ax_dim.set(title=f"KL per latent dimension, test set ({int(np.asarray(active).sum())} of {len(kl_per_dim)} active)",
               xlabel="latent dimension", ylabel="KL (nats per image)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "tab:gray")]
    ax_dim.legend(handles, ["active", "inactive"], fontsize=8)
    fig.tight_layout()
    return fig


def plot_embeddings(embeddings: Mapping[str, np.ndarray], labels, ncols: int = 2,
                    title: str | None = None) -> plt.Figure:
    """Scatter plots of 2-D embeddings (N, 2), one panel per `title: points`, coloured by digit,
    with one legend for all panels. Every panel shows the same N images (same `labels`)."""
    labels = np.asarray(labels.cpu() if isinstance(labels, torch.Tensor) else labels)
    nrows = -(-len(embeddings) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.2 * ncols, 4.8 * nrows), squeeze=False)
    size = 4 if len(labels) > 2000 else 10
    for ax, (name, points) in zip(axes.flat, embeddings.items()):
        points = np.asarray(points)
        for digit in range(10):
            at = labels == digit
            ax.scatter(points[at, 0], points[at, 1], s=size, color=DIGIT_COLORS[digit], alpha=0.7,
                       linewidths=0, label=str(digit))
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(embeddings):]:
        ax.axis("off")
    handles = [plt.Line2D([], [], marker="o", linestyle="", color=DIGIT_COLORS[d], markersize=7) for d in range(10)]
    fig.legend(handles, [str(d) for d in range(10)], title="digit", loc="center left", bbox_to_anchor=(1.0, 0.5))
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_structure_bars(table: Mapping[str, Mapping[str, float]], titles: Mapping[str, str] | None = None,
                        fmt: str = "%.3f") -> plt.Figure:
    """One bar chart per measure (`measure: {representation: value}`), the value written on each bar.

    Measures are on different scales (an error rate, a silhouette), hence a panel each.
    """
    titles = titles or {}
    fig, axes = plt.subplots(1, len(table), figsize=(4.6 * len(table), 3.8), squeeze=False)
    for ax, (measure, values) in zip(axes[0], table.items()):
        names = list(values)
        bars = ax.bar(names, [values[n] for n in names], color=sns.color_palette("deep", len(names)))
        ax.bar_label(bars, fmt=fmt, fontsize=8, padding=2)
        ax.set_ylim(min(0.0, min(values.values())) * 1.2, max(0.0, max(values.values())) * 1.2)
        ax.axhline(0, color="k", linewidth=0.8)
        ax.set_title(titles.get(measure, measure), fontsize=11)
    fig.tight_layout()
    return fig


def plot_image_grids(grids: Mapping[str, torch.Tensor], nrow: int = 8,
                     image_shape: tuple[int, ...] = (1, 28, 28)) -> plt.Figure:
    """Image grids side by side, one per `title: images (N, ...) in [0, 1]`."""
    fig, axes = plt.subplots(1, len(grids), figsize=(4.2 * len(grids), 4.6), squeeze=False)
    for ax, (title, images) in zip(axes[0], grids.items()):
        image_grid(images, title, nrow=nrow, image_shape=image_shape, ax=ax)
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


# --- GAN figures (notebook 04): training curves, grids, the training GIF, neighbours, distances ---
# Images are uint8 (N, C, S, S) or floats in [0, 1]; `image_grid` draws them in colour or grey.


def _moving_average(values: Sequence[float], window: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, means) of a trailing moving average; positions are 1-based iteration numbers."""
    values = np.asarray(values, dtype=float)
    window = max(1, min(window, len(values)))
    means = np.convolve(values, np.ones(window) / window, mode="valid")
    return np.arange(window, len(values) + 1), means


def plot_gan_iterations(iterations: Mapping[str, Sequence[float]], series: Mapping[str, str],
                        iterations_per_epoch: int, title: str, ylabel: str,
                        reference: Mapping[str, float] | None = None, window: int | None = None,
                        ax: plt.Axes | None = None) -> plt.Figure:
    """Per-iteration curves, raw (faint) and smoothed (a moving average over about one epoch), against epochs.

    `series` maps keys of `iterations` to legend labels; `reference` draws dashed horizontal lines
    (`label: value`), e.g. the values at the game's equilibrium.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4))
    longest = max(len(iterations[key]) for key in series)
    window = window or max(1, min(iterations_per_epoch, longest // 10))  # about an epoch, or a tenth of a short run
    colors = sns.color_palette("deep", len(series))
    for color, (key, label) in zip(colors, series.items()):
        values = np.asarray(iterations[key], dtype=float)
        x = np.arange(1, len(values) + 1) / iterations_per_epoch
        ax.plot(x, values, color=color, alpha=0.25, linewidth=0.6)
        at, smooth = _moving_average(values, window)
        ax.plot(at / iterations_per_epoch, smooth, color=color, linewidth=1.6,
                label=f"{label} (mean of {min(window, len(values))} iterations)")
    for style, (label, value) in zip(("--", ":", "-."), (reference or {}).items()):
        ax.axhline(value, color="k", linestyle=style, linewidth=0.9, label=label)
    ax.set(title=title, xlabel="epoch", ylabel=ylabel)
    ax.legend(fontsize=8)
    return ax.figure


def gan_equilibrium_lines(discriminator_loss: Callable, generator_loss: Callable) -> dict[str, float]:
    """Both players' losses where D answers 1/2 for every image (logits 0), the game's equilibrium, as
    `plot_gan_iterations`' `reference` lines. Evaluated from the loss functions themselves, so a line moves
    with an edited loss (the saturating G loss, log(1 − D(G(z))), is −ln 2 ≈ −0.69 there)."""
    logits = torch.zeros(1)  # sigmoid(0) = 1/2
    d_loss, g_loss = float(discriminator_loss(logits, logits)), float(generator_loss(logits))
    return {f"D at equilibrium: {d_loss:.2f}": d_loss, f"G at equilibrium: {g_loss:.2f}": g_loss}


def plot_image_rows(rows: Mapping[str, torch.Tensor], title: str, captions: Sequence[str] | None = None) -> plt.Figure:
    """Rows of images, one per `label: images (N, C, S, S)`, the label at the left of each row,
    and an optional caption under each column."""
    labels = list(rows)
    n = max(len(v) for v in rows.values())
    fig, axes = plt.subplots(len(labels), n, figsize=(1.25 * n + 1.2, 1.35 * len(labels) + 0.6), squeeze=False)
    for r, label in enumerate(labels):
        images = rows[label].detach().cpu()
        for c in range(n):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if c >= len(images):
                continue
            img = images[c].float() / 255 if images.dtype == torch.uint8 else images[c].clamp(0, 1)
            img = img.permute(1, 2, 0).numpy()
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1,
                      interpolation="nearest")
            if r == len(labels) - 1 and captions is not None:
                ax.set_xlabel(captions[c], fontsize=7)
        axes[r, 0].set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_real_and_generated(real: torch.Tensor, fake: torch.Tensor, real_title: str, fake_title: str,
                            nrow: int = 8) -> plt.Figure:
    """A grid of real images beside a grid of generated ones, same size and layout."""
    shape = tuple(real.shape[1:])
    fig, (ax_real, ax_fake) = plt.subplots(1, 2, figsize=(11, 5.8))
    image_grid(real, real_title, nrow=nrow, image_shape=shape, ax=ax_real)
    image_grid(fake, fake_title, nrow=nrow, image_shape=shape, ax=ax_fake)
    for ax in (ax_real, ax_fake):
        ax.title.set_fontsize(10)
    fig.tight_layout()
    return fig


def save_training_gif(snapshots: Sequence[torch.Tensor], name: str, nrow: int = 8, max_frames: int = 30,
                      seconds: float = 8.0, scale: int = 1) -> Path:
    """An animated GIF of the fixed-noise grid over training, `outputs/figures/<name>.gif`.

    `snapshots` holds one uint8 (N, C, S, S) batch per epoch; at most `max_frames` evenly spaced
    epochs are used (always the first and the last), each labelled with its epoch, and the animation
    lasts about `seconds` with the last frame held longer. Written with Pillow. Its size grows with
    frames x images: 30 frames of 32 images at 64 x 64 pixels is about 2.5 MB.
    """
    from PIL import Image, ImageDraw

    total = len(snapshots)
    if total == 0:
        raise ValueError("No snapshots to animate.")
    picks = sorted({round(i) for i in np.linspace(0, total - 1, min(max_frames, total))})
    frames = []
    for index in picks:
        grid = make_grid(snapshots[index].float() / 255, nrow=nrow, padding=2, pad_value=1.0)
        array = (grid.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        image = Image.fromarray(array).convert("RGB")
        if scale > 1:
            image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
        canvas = Image.new("RGB", (image.width, image.height + 16), "white")
        canvas.paste(image, (0, 16))
        ImageDraw.Draw(canvas).text((4, 2), f"epoch {index + 1} of {total}", fill="black")
        frames.append(canvas.quantize(colors=255, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    per_frame = max(40, int(1000 * seconds / len(frames)))
    durations = [per_frame] * (len(frames) - 1) + [max(per_frame, 2000)]
    path = outputs_dir("figures") / f"{name}.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=durations, loop=0, optimize=False)
    return path


def plot_distance_over_training(epochs: Sequence[int], values: Sequence[float], floor: float, title: str,
                                ylabel: str = "SWD x 10^3 (lower is closer)",
                                final: tuple[float, float] | None = None, label: str = "generated vs real",
                                others: Mapping[str, tuple[Sequence[int], Sequence[float]]] | None = None
                                ) -> plt.Figure:
    """A distance measured during training, with the floor (two real samples) as a dashed line.

    `final` = (distance, floor) of the larger measurement at the end, drawn as a marker and a dotted line.
    `others` = {label: (epochs, values)}: further runs measured the same way (same sample, same floor).
    """
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(epochs, values, "-o", markersize=3, label=label)
    for other, (other_epochs, other_values) in (others or {}).items():
        ax.plot(other_epochs, other_values, "-o", markersize=3, label=other)
    ax.axhline(floor, color="tab:green", linestyle="--", label=f"floor: real vs real ({floor:.1f})")
    if final is not None:
        ax.plot([epochs[-1]], [final[0]], "D", color="tab:red", label=f"final, more images ({final[0]:.1f})")
        ax.axhline(final[1], color="tab:red", linestyle=":", label=f"its floor ({final[1]:.1f})")
    ax.set(title=title, xlabel="epoch", ylabel=ylabel, ylim=(0, None))
    ax.legend(fontsize=8)
    return fig


def plot_variant_distances(distances: Mapping[str, float], floor: float, title: str,
                           ylabel: str = "SWD x 10^3 (lower is closer)") -> plt.Figure:
    """One bar per training variant, its distance written on it, the real-vs-real floor dashed."""
    names = list(distances)
    fig, ax = plt.subplots(figsize=(1.6 * len(names) + 2.5, 4))
    bars = ax.bar(names, [distances[n] for n in names], color=sns.color_palette("deep", len(names)))
    ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.axhline(floor, color="tab:green", linestyle="--", label=f"floor: real vs real ({floor:.1f})")
    ax.set(title=title, ylabel=ylabel)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    return fig


def plot_aggregate_posterior(mean: Sequence[float], variance: Sequence[float], active: Sequence[bool],
                             title: str) -> plt.Figure:
    """Per latent dimension, the aggregate posterior's mean and variance against the prior's 0 and 1."""
    fig, (ax_mean, ax_var) = plt.subplots(1, 2, figsize=(14, 3.6))
    dims = np.arange(len(mean))
    colors = ["tab:blue" if a else "lightgray" for a in active]
    for ax, values, prior, name in ((ax_mean, mean, 0.0, "mean of q(z)"), (ax_var, variance, 1.0, "variance of q(z)")):
        ax.bar(dims, values, color=colors)
        ax.axhline(prior, color="black", linestyle="--", linewidth=1, label=f"prior N(0, 1): {prior:g}")
        ax.set(xlabel="latent dimension (blue: active)", ylabel=name)
        ax.set_ylim(top=ax.get_ylim()[1] + 0.25 * np.ptp(ax.get_ylim()))  # the legend above the bars
        ax.legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_data_sweep(sweep: Mapping[float, Mapping], distances: Mapping[float, Mapping[int, Sequence[float]]],
                    floors: Sequence[float], title: str, ylabel: str = "SWD x 10^3 (lower is closer)") -> plt.Figure:
    """The distance to all the real images per share of them trained on (equal updates): per training seed
    (distances: {share: {seed: [per repeat]}}) the repeats' mean and range, the first seed's joined by a
    line, the real-vs-real floor dashed, each share labelled with its image count."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, s in enumerate(sorted({s for runs in distances.values() for s in runs})):
        values = {f: np.asarray(distances[f][s]) for f in sorted(sweep) if s in distances[f]}
        mean = np.array([v.mean() for v in values.values()])
        spread = [mean - [v.min() for v in values.values()], [v.max() for v in values.values()] - mean]
        ax.errorbar([100 * f + 1.5 * i for f in values], mean, yerr=spread, marker="o", capsize=4,
                    linestyle="none" if i else "-", markerfacecolor="white" if i else None,
                    label=f"training seed {s}: generated vs real (range over repeats)")
    for f in sorted(sweep):
        ax.annotate(f"{sweep[f]['train_size']} images\n{sweep[f]['epochs']} epochs", (100 * f, np.mean(
            distances[f][min(distances[f])])), textcoords="offset points", xytext=(6, 8), fontsize=8, va="bottom")
    ax.axhline(np.mean(floors), color="tab:green", linestyle="--", label=f"floor: real vs real ({np.mean(floors):.1f})")
    ax.set(title=title, xlabel="share of the training images (%), the same number of updates", ylabel=ylabel)
    ax.set_xlim(0, 115)
    ax.set_ylim(0, 1.25 * max(max(v) for runs in distances.values() for v in runs.values()))  # room for labels
    ax.legend(fontsize=8)
    return fig
