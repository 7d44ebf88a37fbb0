"""The stand-in art's colours: harmonious palettes drawn from a seeded generator.

A palette is a colour scheme (hue offsets from a random base hue) in a mood (ranges of saturation
and brightness), with a background that every paint colour stands out from.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]
RGBA = tuple[int, int, int, int]

# Colour schemes: hue offsets (degrees) from a random base hue.
SCHEMES: dict[str, tuple[float, ...]] = {
    "analogous": (0, 25, -25, 50),
    "complementary": (0, 180, 15, 195),
    "triadic": (0, 120, 240),
    "split-complementary": (0, 150, 210),
    "monochrome": (0,),
}
# Moods: (saturation range, value range) of the paint colours.
MOODS: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {
    "vivid": ((0.6, 0.92), (0.65, 0.95)),
    "muted": ((0.15, 0.45), (0.4, 0.8)),
    "dark": ((0.35, 0.85), (0.2, 0.6)),
    "pastel": ((0.12, 0.4), (0.8, 1.0)),
    "earthy": ((0.3, 0.75), (0.3, 0.8)),
}
EARTHY_HUES = (10.0, 45.0)  # ochres, siennas and umbers
PRIMARIES: tuple[RGB, ...] = ((200, 30, 35), (245, 200, 30), (25, 60, 160))  # Mondrian's red, yellow, blue
CANVAS_WHITE: RGB = (238, 234, 224)  # an off-white, primed canvas
BAR_BLACK: RGB = (18, 18, 20)  # Mondrian's bars
NUM_PAINT_COLOURS = 5
MIN_CONTRAST = 0.12  # least brightness gap between paint and ground, so no painting vanishes into its ground


@dataclass(frozen=True)
class Palette:
    """The colours one painting may use."""

    colours: tuple[RGB, ...]  # harmonious paint colours
    background: RGB  # the ground: light, dark or a paint colour
    ink: RGB  # near-black on a light ground, near-white on a dark one: lines and accents


def hsv(hue_deg: float, sat: float, val: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb((hue_deg % 360) / 360, sat, val)
    return (round(r * 255), round(g * 255), round(b * 255))


def luminance(colour: RGB) -> float:
    """Perceived brightness in [0, 1] (Rec. 601 weights)."""
    r, g, b = colour
    return (0.299 * r + 0.587 * g + 0.114 * b) / 255


def contrasting(colour: RGB, ground: RGB) -> RGB:
    """`colour`, mixed towards white (on a dark ground) or black (on a light one) until it stands out."""
    target = np.array((0, 0, 0) if luminance(ground) > 0.5 else (255, 255, 255))
    mixed = colour
    for t in (0.0, 0.25, 0.5, 0.75):
        mixed = tuple(int(c) for c in np.round((1 - t) * np.array(colour) + t * target))
        if abs(luminance(mixed) - luminance(ground)) >= MIN_CONTRAST:
            break
    return mixed  # type: ignore[return-value]


def random_palette(rng: np.random.Generator) -> Palette:
    """A random scheme (analogous, triadic, ...) in a random mood (vivid, muted, dark, ...)."""
    scheme = SCHEMES[list(SCHEMES)[rng.integers(len(SCHEMES))]]
    mood = list(MOODS)[rng.integers(len(MOODS))]
    (s_lo, s_hi), (v_lo, v_hi) = MOODS[mood]
    base = rng.uniform(*EARTHY_HUES) if mood == "earthy" else rng.uniform(0, 360)
    # Values spread over the mood's whole range, so even a monochrome palette has lights and darks.
    values = rng.permutation(np.linspace(v_lo, v_hi, NUM_PAINT_COLOURS)) + rng.normal(0, 0.03, NUM_PAINT_COLOURS)
    offsets = np.array(scheme)[rng.integers(len(scheme), size=NUM_PAINT_COLOURS)]  # one of the scheme's hues each
    hues = base + offsets + rng.normal(0, 8, NUM_PAINT_COLOURS)
    colours = tuple(hsv(hue, rng.uniform(s_lo, s_hi), float(np.clip(v, 0, 1))) for hue, v in zip(hues, values))
    ground_kind = rng.random()
    if mood == "dark" or ground_kind < 0.25:  # a dark ground
        background = hsv(base + rng.normal(0, 20), rng.uniform(0.2, 0.6), rng.uniform(0.06, 0.2))
    elif ground_kind < 0.65:  # a light, slightly tinted ground
        background = hsv(base + rng.normal(0, 20), rng.uniform(0.03, 0.15), rng.uniform(0.86, 0.97))
    else:  # one of the paint colours
        background = colours[rng.integers(len(colours))]
    ink = (20, 18, 22) if luminance(background) > 0.45 else (236, 232, 222)
    return Palette(tuple(contrasting(c, background) for c in colours), background, ink)
