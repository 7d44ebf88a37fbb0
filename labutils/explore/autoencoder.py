"""Explorer of notebook 01: any test image, picked by its index, beside the autoencoder's reconstruction."""
from __future__ import annotations

import torch
from torch import nn

from labutils.explore import Explorer, to_png


def reconstruction_picker(model: nn.Module, images: torch.Tensor) -> Explorer:
    """A slider over the test images (N, 784) in [0, 1]: the image and decode(encode(image)) side by side."""
    import ipywidgets as widgets

    index = widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="test image")
    device = next(model.parameters()).device

    @torch.no_grad()
    def render(index: int) -> bytes:
        x = images[index:index + 1].flatten(1)                        # (1, 784)
        x_hat = model.decode(model.encode(x.to(device))).cpu()        # (1, 784)
        return to_png(torch.cat([x.cpu(), x_hat]), nrow=2, scale=6)

    return Explorer(render, {"index": index}, "lab-reconstruction-explorer", caption="image, reconstruction")
