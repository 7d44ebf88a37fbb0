"""Stand-in abstract art: a seeded generator of small paintings.

The lab's GAN trains on Kaggle's Abstract Art Gallery. Where that data cannot be reached
(no internet, no Kaggle credentials) the lab still has to run end to end, so this module
paints a stand-in: colour fields, geometric shapes, grids, brush strokes, concentric rings,
horizons, shards and op-art stripes, each in a harmonious palette. It is NOT the Kaggle data
and every figure made from it must say so.

Every painting is drawn with PIL at `CANVAS_SIZE` and downsampled with LANCZOS, which
anti-aliases the edges and makes sizes 32, 64 and 128 show the same composition.
Painting `i` depends only on `(seed, i)`, so the first 100 images are the same whether you
ask for 100 or for 2872.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

from labutils.data.standin_palette import (BAR_BLACK, CANVAS_WHITE, PRIMARIES, RGB, RGBA, Palette, contrasting,
                                           luminance, random_palette)

STANDIN_VERSION = 2  # bump whenever the paintings change, so cached stand-ins are rebuilt
ALLOWED_SIZES = (32, 64, 128)  # powers of two the lab's models are built for
CANVAS_SIZE = 256  # drawing size: 8x, 4x, 2x supersampling for 32, 64, 128
C = CANVAS_SIZE  # short name for the drawing code below
PARALLEL_MIN_IMAGES = 512  # below this, starting worker processes costs more than it saves
MAX_WORKERS = 2  # the lab's reference machine (and Colab) has 2 cores
CHUNKS_PER_WORKER = 4  # several chunks per worker even out fast and slow paintings
BRISTLES = 5  # offset copies that give a brush stroke its streaky edge
SWEEP_POINTS, DAB_POINTS = 24, 6  # points along a long stroke and a short dab: enough for a smooth curve


# ---------------------------------------------------------------- drawing helpers

def _pick(rng: np.random.Generator, colours: tuple[RGB, ...]) -> RGB:
    return colours[rng.integers(len(colours))]


def _distinct(rng: np.random.Generator, colours: tuple[RGB, ...], count: int) -> list[RGB]:
    """`count` different colours (at most all of them): neighbouring bands and rings never merge."""
    return [colours[k] for k in rng.permutation(len(colours))[:count]]


def _shade(colour: RGB, factor: float) -> RGB:
    """Lighter (factor > 1) or darker (factor < 1) version of a colour."""
    return tuple(int(min(255, max(0, c * factor))) for c in colour)  # type: ignore[return-value]


def _alpha(colour: RGB, alpha: int) -> RGBA:
    return (*colour, int(alpha))


def _gradient(start: RGB, end: RGB, angle: float) -> Image.Image:
    """Linear gradient from `start` to `end` along direction `angle` (radians)."""
    y, x = np.mgrid[0:C, 0:C] / (C - 1)
    t = x * np.cos(angle) + y * np.sin(angle)
    t = ((t - t.min()) / (np.ptp(t) + 1e-9))[..., None]  # (C, C, 1) in [0, 1]
    pixels = (1 - t) * np.array(start) + t * np.array(end)
    return Image.fromarray(pixels.astype(np.uint8), "RGB")


def _ground(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """The painting's ground: flat, or a gentle gradient away from the background colour."""
    if rng.random() < 0.5:
        return Image.new("RGB", (C, C), palette.background)
    end = _shade(palette.background, rng.uniform(0.6, 1.4)) if rng.random() < 0.6 else _pick(rng, palette.colours)
    return _gradient(palette.background, end, rng.uniform(0, 2 * np.pi))


def _smooth_noise(rng: np.random.Generator, cells: int) -> np.ndarray:
    """(C, C) float noise in [-1, 1] that varies smoothly over about C / cells pixels."""
    coarse = Image.fromarray(rng.uniform(-1, 1, (cells, cells)).astype(np.float32), "F")
    return np.asarray(coarse.resize((C, C), Image.Resampling.BICUBIC))


def _bezier(points: np.ndarray, num_points: int) -> np.ndarray:
    """(num_points, 2) points along the cubic Bezier curve with control points `points` (4, 2)."""
    t = np.linspace(0, 1, num_points)[:, None]
    p0, p1, p2, p3 = points
    return (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3


def _split_convex(polygon: np.ndarray, point: np.ndarray, normal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cut a convex polygon (K, 2) by the line through `point` perpendicular to `normal`."""
    side = (polygon - point) @ normal
    front: list[np.ndarray] = []
    back: list[np.ndarray] = []
    for k in range(len(polygon)):
        p, q, sp, sq = polygon[k], polygon[(k + 1) % len(polygon)], side[k], side[(k + 1) % len(polygon)]
        (front if sp >= 0 else back).append(p)
        if sp * sq < 0:  # the edge crosses the line: both halves get the crossing point
            crossing = p + (q - p) * (sp / (sp - sq))
            front.append(crossing)
            back.append(crossing)
    return np.array(front), np.array(back)


def _polygon_area(polygon: np.ndarray) -> float:
    """Area of a polygon (K, 2) by the shoelace formula."""
    x, y = polygon[:, 0], polygon[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


# ---------------------------------------------------------------- styles
# Each style paints one composition on a C x C RGB image.


def _colour_field(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Rothko-like: two or three soft-edged blocks floating on a coloured ground."""
    ground = _pick(rng, palette.colours) if rng.random() < 0.6 else palette.background
    img = Image.new("RGB", (C, C), ground)
    draw = ImageDraw.Draw(img)
    num_blocks = int(rng.integers(2, 4))
    margin, gap = C * rng.uniform(0.07, 0.14), C * rng.uniform(0.03, 0.07)
    heights = rng.dirichlet(np.full(num_blocks, 3.0)) * (C - 2 * margin - gap * (num_blocks - 1))
    top = margin
    for height in heights:
        colour = contrasting(_shade(_pick(rng, palette.colours), rng.uniform(0.8, 1.15)), ground)
        draw.rectangle((margin, top, C - margin, top + height), fill=colour)
        top += height + gap
    img = img.filter(ImageFilter.GaussianBlur(C * rng.uniform(0.01, 0.025)))
    return img.transpose(Image.Transpose.TRANSPOSE) if rng.random() < 0.2 else img


def _scattered_shapes(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Kandinsky-like: circles, triangles, bars, arcs and lines scattered over the ground."""
    img = _ground(rng, palette)
    draw = ImageDraw.Draw(img, "RGBA")  # RGBA fills blend translucently onto the RGB image
    if rng.random() < 0.6:  # one dominant circle with a halo
        cx, cy, r = *rng.uniform(0.25 * C, 0.75 * C, 2), C * rng.uniform(0.15, 0.3)
        halo = r * rng.uniform(1.1, 1.4)
        draw.ellipse((cx - halo, cy - halo, cx + halo, cy + halo), fill=_alpha(_pick(rng, palette.colours), 120))
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_pick(rng, palette.colours))
    for _ in range(int(rng.integers(6, 15))):
        colour = _alpha(_pick(rng, palette.colours), rng.integers(170, 256))
        cx, cy = rng.uniform(0, C, 2)
        r = C * rng.uniform(0.04, 0.18)
        kind = rng.integers(5)
        if kind == 0:
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
            if rng.random() < 0.4:
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), outline=palette.ink, width=int(C * 0.012))
        elif kind == 1:
            angles = rng.uniform(0, 2 * np.pi, 3)
            radii = r * rng.uniform(0.8, 2.0, 3)
            draw.polygon(list(zip(cx + radii * np.cos(angles), cy + radii * np.sin(angles))), fill=colour)
        elif kind == 2:
            angle, half_len, half_wid = rng.uniform(0, np.pi), r * rng.uniform(1, 2.5), r * rng.uniform(0.15, 0.5)
            u, v = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
            corners = [np.array([cx, cy]) + su * half_len * u + sv * half_wid * v
                       for su, sv in ((1, 1), (1, -1), (-1, -1), (-1, 1))]
            draw.polygon([tuple(p) for p in corners], fill=colour)
        elif kind == 3:
            end = rng.uniform(0, C, 2)
            draw.line((cx, cy, *end), fill=palette.ink, width=int(rng.integers(2, 7)))
        else:
            start = rng.uniform(0, 360)
            draw.arc((cx - 1.5 * r, cy - 1.5 * r, cx + 1.5 * r, cy + 1.5 * r), start, start + rng.uniform(60, 220),
                     fill=colour, width=int(rng.integers(4, 12)))
    return img


def _split_rect(rng: np.random.Generator, rect: tuple[float, float, float, float], depth: int,
                out: list[tuple[float, float, float, float]]) -> None:
    """Recursively cut a rectangle in two along its longer side (a Mondrian layout)."""
    x0, y0, x1, y1 = rect
    if depth == 0 or max(x1 - x0, y1 - y0) < C * 0.18 or (depth < 3 and rng.random() < 0.25):
        out.append(rect)
        return
    cut = rng.uniform(0.25, 0.75)
    if x1 - x0 >= y1 - y0:
        xm = x0 + cut * (x1 - x0)
        halves = ((x0, y0, xm, y1), (xm, y0, x1, y1))
    else:
        ym = y0 + cut * (y1 - y0)
        halves = ((x0, y0, x1, ym), (x0, ym, x1, y1))
    for half in halves:
        _split_rect(rng, half, depth - 1, out)


def _mondrian_grid(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Mondrian-like: rectangles cut recursively, a few filled with colour, black bars between."""
    colours = PRIMARIES if rng.random() < 0.35 else palette.colours
    light = luminance(palette.background) > 0.6
    blank = palette.background if light else CANVAS_WHITE
    img = Image.new("RGB", (C, C), blank)
    draw = ImageDraw.Draw(img)
    rects: list[tuple[float, float, float, float]] = []
    _split_rect(rng, (0, 0, C, C), int(rng.integers(3, 6)), rects)
    half_bar = int(C * rng.uniform(0.008, 0.018))
    for rect in rects:
        fill = _pick(rng, colours) if rng.random() < 0.4 else blank
        draw.rectangle(rect, fill=fill, outline=BAR_BLACK, width=half_bar)  # neighbours' outlines meet as one bar
    return img


def _colour_grid(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Klee-like: a loose grid of softly bordered colour cells."""
    rows, cols = rng.integers(3, 8, 2)
    xs = np.concatenate([[0], np.cumsum(rng.dirichlet(np.full(cols, 4.0)))]) * C
    ys = np.concatenate([[0], np.cumsum(rng.dirichlet(np.full(rows, 4.0)))]) * C
    img = Image.new("RGB", (C, C))
    draw = ImageDraw.Draw(img)
    for row in range(rows):
        for col in range(cols):
            colour = _shade(_pick(rng, palette.colours), rng.uniform(0.75, 1.2))
            draw.rectangle((xs[col], ys[row], xs[col + 1], ys[row + 1]), fill=colour)
    return img.filter(ImageFilter.GaussianBlur(C * rng.uniform(0.004, 0.012)))


def _brush_stroke(draw: ImageDraw.ImageDraw, rng: np.random.Generator, controls: np.ndarray,
                  width: float, colour: RGB, alpha: int, num_points: int) -> None:
    """One brush stroke along a Bezier curve (4, 2), as streaky bristles in nearby shades.

    Long strokes get rounded joints; short dabs do without (9x cheaper, invisible once downsampled).
    """
    curve = _bezier(controls, num_points)
    joint = "curve" if num_points > DAB_POINTS else None
    for _ in range(BRISTLES):
        bristle = [tuple(p) for p in curve + rng.normal(0, width * 0.15, 2)]
        draw.line(bristle, fill=_alpha(_shade(colour, rng.uniform(0.85, 1.15)), alpha),
                  width=max(1, int(width * rng.uniform(0.5, 1.0))), joint=joint)


def _gestural(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Gestural abstraction: a few sweeping strokes, or dense layered dabs (de Kooning-like)."""
    img = _ground(rng, palette)
    draw = ImageDraw.Draw(img, "RGBA")
    if rng.random() < 0.5:  # sweeping strokes across the canvas
        for _ in range(int(rng.integers(4, 11))):
            walk = np.vstack([np.zeros(2), rng.normal(0, 0.25 * C, (3, 2))]).cumsum(axis=0)  # (4, 2) control points
            controls = np.clip(walk + rng.uniform(0, C, 2), -0.05 * C, 1.05 * C)
            _brush_stroke(draw, rng, controls, C * rng.uniform(0.03, 0.1), _pick(rng, palette.colours),
                          int(rng.integers(170, 256)), SWEEP_POINTS)
    else:  # many short, slightly bent dabs layered over each other
        for _ in range(int(rng.integers(30, 90))):
            start, angle, length = rng.uniform(0, C, 2), rng.uniform(0, 2 * np.pi), C * rng.uniform(0.08, 0.25)
            along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
            bend = rng.normal(0, 0.15 * length)
            controls = start + np.outer([0, 1 / 3, 2 / 3, 1], along) * length + np.outer([0, 1, 1, 0], across) * bend
            _brush_stroke(draw, rng, controls, C * rng.uniform(0.04, 0.1), _pick(rng, palette.colours),
                          int(rng.integers(140, 240)), DAB_POINTS)
    if rng.random() < 0.5:
        colour = _pick(rng, (*palette.colours, palette.ink))
        for cx, cy in rng.uniform(0, C, (int(rng.integers(5, 25)), 2)):
            r = C * rng.uniform(0.004, 0.02)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    return img


def _concentric(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Concentric and radial designs: drifting rings, a sunburst, or squares with rings (Kandinsky)."""
    variant = rng.integers(3)
    if variant == 2:  # a k x k grid of squares, each with its own rings
        cells = int(rng.integers(2, 5))
        img = Image.new("RGB", (C, C))
        draw = ImageDraw.Draw(img)
        step = C / cells
        for row in range(cells):
            for col in range(cells):
                x0, y0 = col * step, row * step
                cell, *rings = _distinct(rng, palette.colours, int(rng.integers(3, 6)))
                draw.rectangle((x0, y0, x0 + step, y0 + step), fill=cell)
                cx, cy = x0 + step / 2, y0 + step / 2
                radii = np.sort(rng.uniform(0.08, 0.45, len(rings)))[::-1] * step
                for r, colour in zip(radii, rings):
                    cx, cy = cx + rng.normal(0, 0.02 * step), cy + rng.normal(0, 0.02 * step)
                    draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        return img
    img = _ground(rng, palette)
    draw = ImageDraw.Draw(img)
    cx, cy = rng.uniform(0.2 * C, 0.8 * C, 2)
    if variant == 1:  # sunburst: alternating wedges around a centre
        rays = int(rng.integers(8, 25))
        colours = _distinct(rng, palette.colours, int(rng.integers(2, 4)))
        reach = 1.5 * C
        for k in range(rays):
            start = k * 360 / rays
            draw.pieslice((cx - reach, cy - reach, cx + reach, cy + reach), start, start + 360 / rays,
                          fill=colours[k % len(colours)])
    rings = _distinct(rng, palette.colours, len(palette.colours))
    r = C * rng.uniform(0.25, 0.6) if variant == 1 else C * rng.uniform(0.5, 0.9)
    for k in range(int(rng.integers(3, 10))):
        cx, cy = cx + rng.normal(0, 0.015 * C), cy + rng.normal(0, 0.015 * C)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=rings[k % len(rings)])
        r *= rng.uniform(0.6, 0.85)
    return img


def _horizon(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Abstract landscape: a graded sky, perhaps a sun, and layered wavy bands."""
    sky_top, sky_bottom = _distinct(rng, (*palette.colours, palette.background), 2)
    img = _gradient(sky_top, sky_bottom, np.pi / 2 + rng.normal(0, 0.1))
    draw = ImageDraw.Draw(img, "RGBA")
    horizon = C * rng.uniform(0.3, 0.65)
    if rng.random() < 0.6:
        cx, cy, r = rng.uniform(0.15 * C, 0.85 * C), horizon * rng.uniform(0.3, 0.9), C * rng.uniform(0.06, 0.18)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=_alpha(_pick(rng, (*palette.colours, palette.ink)), 230))
    x = np.linspace(-2, C + 2, 64)
    num_bands = int(rng.integers(3, 7))
    tops = np.sort(rng.uniform(horizon, C * 0.95, num_bands))
    tops[0] = horizon
    colours = _distinct(rng, palette.colours, len(palette.colours))
    for k, top in enumerate(tops):
        amplitude, freq, phase = C * rng.uniform(0.01, 0.08), rng.uniform(0.5, 3), rng.uniform(0, 2 * np.pi)
        y = top + amplitude * np.sin(2 * np.pi * freq * x / C + phase)
        outline = [*zip(x, y), (C + 2, C + 2), (-2, C + 2)]
        draw.polygon(outline, fill=_shade(colours[k % len(colours)], 1.0 - 0.08 * k))  # nearer bands darker
    return img


def _shards(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Cubist / stained-glass: the canvas cut into convex facets by random straight lines."""
    pieces = [np.array([[0, 0], [C, 0], [C, C], [0, C]], dtype=float)]
    for _ in range(int(rng.integers(6, 22))):
        areas = np.array([_polygon_area(p) for p in pieces])
        piece = pieces.pop(int(rng.choice(len(pieces), p=areas / areas.sum())))  # cut big facets more often
        angle = rng.uniform(0, np.pi)
        through = piece.mean(axis=0) + rng.normal(0, 0.1 * C, 2)
        halves = _split_convex(piece, through, np.array([np.cos(angle), np.sin(angle)]))
        if all(len(half) >= 3 for half in halves):
            pieces.extend(halves)
        else:  # the line missed the facet: keep it whole
            pieces.append(piece)
    img = Image.new("RGB", (C, C))
    draw = ImageDraw.Draw(img)
    outline = palette.ink if rng.random() < 0.5 else None
    for piece in pieces:
        colour = _shade(_pick(rng, palette.colours), rng.uniform(0.7, 1.25))
        draw.polygon([tuple(p) for p in piece], fill=colour, outline=outline, width=int(C * 0.008))
    return img


def _waves(rng: np.random.Generator, palette: Palette) -> Image.Image:
    """Op art and contour maps: a smooth field cut into bands of alternating colour."""
    y, x = np.mgrid[0:C, 0:C] / C
    if rng.random() < 0.5:  # Riley-like undulating stripes
        angle = rng.uniform(0, np.pi)
        along, across = x * np.cos(angle) + y * np.sin(angle), -x * np.sin(angle) + y * np.cos(angle)
        wobble = np.sin(2 * np.pi * rng.uniform(0.5, 2.5) * across + rng.uniform(0, 2 * np.pi))
        field = along * rng.uniform(3, 10) + rng.uniform(0.2, 1.2) * wobble
    else:  # contour map of a few overlapping plane waves
        field = sum(rng.uniform(0.5, 1.5) * np.sin(2 * np.pi * (x * rng.uniform(-1.5, 1.5) + y * rng.uniform(-1.5, 1.5))
                                                   + rng.uniform(0, 2 * np.pi))
                    for _ in range(3))
        field = (field - field.min()) / (np.ptp(field) + 1e-9) * rng.uniform(3, 7)
    colours = np.array(_distinct(rng, (*palette.colours, palette.background), int(rng.integers(2, 5))))
    bands = np.floor(field).astype(int) % len(colours)
    return Image.fromarray(colours[bands].astype(np.uint8), "RGB")


STYLES: tuple[Callable[[np.random.Generator, Palette], Image.Image], ...] = (
    _colour_field, _scattered_shapes, _mondrian_grid, _colour_grid, _gestural,
    _concentric, _horizon, _shards, _waves,
)


def _paint_texture(rng: np.random.Generator, img: Image.Image) -> Image.Image:
    """Mottle the paint with smooth noise at two scales, so flat areas look brushed, not digital."""
    amount = rng.uniform(0.02, 0.1)
    mottle = 1 + amount * (0.6 * _smooth_noise(rng, 6) + 0.4 * _smooth_noise(rng, 32))  # (C, C)
    pixels = np.asarray(img, dtype=np.float32) * mottle[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _paint(seed: int, index: int, image_size: int) -> np.ndarray:
    """Painting number `index` of the stand-in with `seed`: (S, S, 3) uint8."""
    rng = np.random.default_rng([seed, index])
    palette = random_palette(rng)
    style = STYLES[rng.integers(len(STYLES))]
    img = _paint_texture(rng, style(rng, palette))
    return np.asarray(img.resize((image_size, image_size), Image.Resampling.LANCZOS))


def _paint_range(seed: int, start: int, stop: int, image_size: int) -> np.ndarray:
    """Paintings start..stop-1 as (n, S, S, 3) uint8; one unit of work for a worker process."""
    return np.stack([_paint(seed, i, image_size) for i in range(start, stop)])


def make_standin_art(num_images: int = 2872, image_size: int = 64, seed: int = 0) -> torch.Tensor:
    """Paint `num_images` stand-in abstract paintings: (N, 3, S, S) uint8.

    The default count matches the Kaggle gallery. On Linux, large requests are split over
    `MAX_WORKERS` forked processes; the result does not depend on how the work is split.
    Elsewhere it paints in this process: a spawned worker would first re-import torch and
    labutils (seconds), which eats most of the gain.
    """
    if image_size not in ALLOWED_SIZES:
        raise ValueError(f"image_size must be one of {ALLOWED_SIZES}, got {image_size}")
    if num_images < 0 or seed < 0:
        raise ValueError(f"num_images and seed must be >= 0, got {num_images} and {seed}")
    if num_images == 0:
        return torch.empty((0, 3, image_size, image_size), dtype=torch.uint8)
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    if num_images < PARALLEL_MIN_IMAGES or workers == 1 or not sys.platform.startswith("linux"):
        chunks = [_paint_range(seed, 0, num_images, image_size)]
    else:
        num_chunks = min(CHUNKS_PER_WORKER * workers, num_images)  # never an empty chunk
        bounds = np.linspace(0, num_images, num_chunks + 1).astype(int)
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            chunks = list(pool.map(_paint_range, [seed] * num_chunks, bounds[:-1], bounds[1:],
                                   [image_size] * num_chunks))
    return torch.from_numpy(np.concatenate(chunks)).permute(0, 3, 1, 2).contiguous()  # (N, S, S, 3) -> (N, 3, S, S)
