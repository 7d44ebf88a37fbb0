"""Figures a learner moves by hand: ipywidgets controls wired to a fast `render`, with a static
figure in their place wherever nobody can move them (papermill, nbval, the HTML report).

An `Explorer` is a function from the controls' values to a PNG, plus the controls. Rendering
goes through PIL, not matplotlib, so that a slider answers in milliseconds on a CPU (`make bench`
times every explorer). `show` puts the widget on the page when `interactive` is true, and else
displays and saves the explorer's static figure, so that nothing waits for input.
"""
from __future__ import annotations

import io
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import torch
from PIL import Image

from labutils.plots import grid_array, save_figure

PIXELS_PER_IMAGE = 112  # each image is scaled up to about this many pixels a side on the page


def to_png(images: torch.Tensor, nrow: int, image_shape: tuple[int, ...] = (1, 28, 28),
           scale: int | None = None) -> bytes:
    """(N, ...) images in [0, 1] (float) or uint8 -> one PNG of a grid with `nrow` images a row,
    laid out as the notebooks' static grids are (`plots.grid_array`)."""
    array = (grid_array(images, nrow, image_shape) * 255).round().astype(np.uint8)   # (H, W, C)
    picture = Image.fromarray(array[..., 0] if array.shape[2] == 1 else array)
    scale = scale or max(1, PIXELS_PER_IMAGE // image_shape[-1])
    picture = picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="png")
    return buffer.getvalue()


@dataclass
class Explorer:
    """Controls (name -> ipywidget) and `render(**values) -> PNG bytes`; `css_class` marks the widget
    on the page (the browser test finds it by that class)."""

    render: Callable[..., bytes]
    controls: Mapping[str, object]
    css_class: str
    caption: str = ""
    on_change: Mapping[str, Callable[[object, "Explorer"], None]] = field(default_factory=dict)

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def widget(self):
        """The controls above the image, re-rendered on every change."""
        import ipywidgets as widgets

        image = widgets.Image(value=self.render(**self.values()), format="png")
        status = widgets.HTML()
        holding = [False]  # while a hook moves other controls: render once, after it

        def update(change=None):
            if holding[0]:
                return
            start = time.perf_counter()
            image.value = self.render(**self.values())
            status.value = f"<small>{self.caption} rendered in {1000 * (time.perf_counter() - start):.0f} ms</small>"

        def run_hook(change, hook):
            holding[0] = True
            try:
                hook(change["new"], self)
            finally:
                holding[0] = False
            update()

        for name, control in self.controls.items():
            hook = self.on_change.get(name)
            control.observe(update if hook is None else (lambda change, hook=hook: run_hook(change, hook)),
                            names="value")
        update()
        # Controls beside the image at its own size, so that both fit on a laptop's screen.
        box = widgets.VBox([widgets.HBox([widgets.VBox(list(self.controls.values())), image],
                                         layout=widgets.Layout(align_items="center")), status],
                           layout=widgets.Layout(align_items="flex-start"))
        box.add_class(self.css_class)
        return box

    def response_seconds(self, repeats: int = 20) -> float:
        """Median seconds of one render at the current values: what a slider's move costs."""
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.render(**self.values())
            times.append(time.perf_counter() - start)
        return float(np.median(times))


def show(explorer: Explorer, interactive: bool, static: Callable[[], object], name: str) -> None:
    """Display the widget where a person can move it; else `static()`'s figure, saved as `name`.png.

    The figure is displayed here and closed, so that a notebook's inline backend does not show it twice."""
    from IPython.display import display

    if interactive:
        display(explorer.widget())
        return
    import matplotlib.pyplot as plt

    figure = static()
    save_figure(figure, name)
    display(figure)
    plt.close(figure)
