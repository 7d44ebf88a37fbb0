"""Explorers of a VAE's latent space (notebook 02): sliders over its active dimensions, an
interpolation between two test digits, and, for a 2-D latent space, the whole manifold."""
from __future__ import annotations

from typing import Sequence

import torch
from scipy.stats import norm
from torch import nn

from labutils.explore import Explorer, to_png
from labutils.plots import image_grid

SPAN = 3.0  # sliders reach +-3: three standard deviations of the prior N(0, 1)


@torch.no_grad()
def latent_sliders(model: nn.Module, starts: torch.Tensor, dims: Sequence[int], span: float = SPAN) -> Explorer:
    """A slider per latent dimension in `dims` (the most informative first), starting from the code
    of a digit picked in a menu (`starts`: (10, latent_dim), a posterior mean per digit)."""
    import ipywidgets as widgets

    digit = widgets.Dropdown(options=list(range(len(starts))), value=0, description="start from")
    sliders = {f"z{d}": widgets.FloatSlider(value=float(starts[0, d]), min=-span, max=span, step=0.05,
                                            description=f"z[{d}]", continuous_update=True) for d in dims}

    @torch.no_grad()
    def render(start: int, **values: float) -> bytes:
        z = starts[start].clone()
        for d in dims:
            z[d] = values[f"z{d}"]
        return to_png(_decode(model, z[None]), nrow=1, scale=8)

    def reset(start: int, explorer: Explorer) -> None:  # the sliders move to the picked digit's code
        for d in dims:
            explorer.controls[f"z{d}"].value = float(starts[start, d])

    return Explorer(render, {"start": digit, **sliders}, "lab-latent-explorer", caption="decoded digit",
                    on_change={"start": reset})


@torch.no_grad()
def traversal_figure(model: nn.Module, start: torch.Tensor, dims: Sequence[int], steps: int = 9, span: float = SPAN):
    """The sliders' figure on paper: row i moves dimension dims[i] from -span to +span, the others kept."""
    values = torch.linspace(-span, span, steps)
    codes = start.repeat(len(dims) * steps, 1)                        # (len(dims) * steps, latent_dim)
    for row, d in enumerate(dims):
        codes[row * steps:(row + 1) * steps, d] = values
    title = f"Each row moves one latent dimension from {-span:g} to {span:g} (rows: z{list(dims)})"
    return image_grid(_decode(model, codes), title=title, nrow=steps)


@torch.no_grad()
def interpolation(model: nn.Module, images: torch.Tensor, first: int, last: int) -> Explorer:
    """Two test images picked by index and a slider t: decode((1 - t) mu(first) + t mu(last))."""
    import ipywidgets as widgets

    pick = dict(min=0, max=len(images) - 1)
    controls = {"first": widgets.BoundedIntText(value=first, description="from image", **pick),
                "last": widgets.BoundedIntText(value=last, description="to image", **pick),
                "t": widgets.FloatSlider(value=0.5, min=0.0, max=1.0, step=0.02, description="t")}

    @torch.no_grad()
    def render(first: int, last: int, t: float) -> bytes:
        x = images[[first, last]].flatten(1).cpu()                    # (2, 784)
        mu, _ = model.encode(x.to(_device(model)))                     # (2, latent_dim)
        between = _decode(model, (1 - t) * mu[:1] + t * mu[1:])       # (1, 784)
        return to_png(torch.cat([x[:1], between, x[1:]]), nrow=3, scale=6)

    return Explorer(render, controls, "lab-interpolation-explorer", caption="from, between (t), to")


@torch.no_grad()
def manifold_figure(model: nn.Module, n: int = 15):
    """A 2-D latent space decoded on an n x n grid of the prior's quantiles (Kingma & Welling 2014, fig. 4):
    equal steps in probability, so each cell covers as much of the prior's mass."""
    quantiles = torch.tensor(norm.ppf(torch.linspace(0.05, 0.95, n).numpy()), dtype=torch.float32)
    z1, z2 = torch.meshgrid(quantiles, quantiles.flip(0), indexing="xy")  # z2 grows upwards
    codes = torch.stack([z1.flatten(), z2.flatten()], dim=1)          # (n * n, 2)
    return image_grid(_decode(model, codes), title="Decoded 2-D latent space: z1 left to right, z2 bottom to top",
                      nrow=n)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _decode(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Codes on any device -> decoded images on the CPU, (B, 784) in [0, 1]."""
    return model.decode(z.to(_device(model))).cpu()
