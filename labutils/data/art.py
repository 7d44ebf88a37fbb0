"""Abstract art: Kaggle's Abstract Art Gallery where it can be had, else a clearly named stand-in.

Sources, first that works:

1. A folder of images, in any nesting, under `<root>/abstract_art/` (the Kaggle download unpacks
   to `Abstract_gallery/Abstract_gallery/*.jpg` and `Abstract_gallery_2/Abstract_gallery_2/*.jpg`).
2. Kaggle's read-only mount: a folder under `/kaggle/input/` whose name contains "abstract".
3. A Kaggle download, never with a prompt: kagglehub when KAGGLE_USERNAME + KAGGLE_KEY are set or
   `~/.kaggle/kaggle.json` exists, and on Colab in any case, where kagglehub reads the credentials
   kept in Colab's Secrets itself; opendatasets only when `./kaggle.json` exists (it prompts on
   standard input otherwise, which breaks headless runs).
4. The procedural stand-in of `labutils.data.standin`, labelled STAND-IN wherever it is used.

Every image is decoded once (RGB, centre-cropped and resized to S x S) and the whole stack is
cached as one .pt file under `<root>/cache/`. The cache name holds a hash of the file list
(relative path, size, modification time), so adding, removing or changing an image re-decodes.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from labutils.data.standin import ALLOWED_SIZES, STANDIN_VERSION, make_standin_art
from labutils.data.sources import SourceUnavailable
from labutils.runtime import data_dir, save_atomically

KAGGLE_DATASET = "bryanb/abstract-art-gallery"
KAGGLE_URL = f"https://www.kaggle.com/datasets/{KAGGLE_DATASET}"
KAGGLE_INPUT = Path("/kaggle/input")  # where Kaggle notebooks mount their data sets
KAGGLE_JSON = "kaggle.json"  # credentials: ~/.kaggle/kaggle.json (kagglehub), ./kaggle.json (opendatasets)
# The Colab Secrets that kagglehub reads on Colab (google.colab.userdata), each set enough on its own.
COLAB_SECRET_SETS = (("KAGGLE_API_TOKEN",), ("KAGGLE_USERNAME", "KAGGLE_KEY"))
COLAB_SECRETS_HELP = ("add KAGGLE_USERNAME and KAGGLE_KEY (from kaggle.com > Settings > API) under the key icon "
                      "in Colab's left sidebar, with notebook access on, then rerun")
FOLDER_NAME = "abstract_art"  # <root>/abstract_art/: put or download the images here
CACHE_FOLDER = "cache"  # <root>/cache/: decoded stacks, kept apart from the images themselves
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})  # compared in lower case
DECODE_VERSION = 1  # part of the cache key: bump when decoding changes, so old caches are not reused
DECODE_THREADS = 4  # Pillow releases the GIL while decoding and resizing, so threads run in parallel
MAX_NAMES_SHOWN = 20  # file names listed in a warning or error before "... and N more"

STANDIN_SOURCE = "STAND-IN: procedurally generated abstract art (not the Kaggle data)"
STANDIN_LABEL = "stand-in (procedural)"  # short label for figure titles


@dataclass(frozen=True)
class ArtImages:
    """The abstract-art images, and where they came from."""

    images: torch.Tensor  # (N, 3, S, S) uint8 RGB
    source: str  # one human line saying where the images came from
    is_standin: bool  # True when these are the procedural stand-in, not the Kaggle gallery
    skipped: tuple[str, ...]  # files that were not readable images, relative to their folder


# --- Decoding a folder ------------------------------------------------------------------------


def _find_images(folder: Path) -> list[Path]:
    """Image files anywhere under `folder`, by extension, sorted so the order never varies."""
    files = (p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def _decode_image(path: Path, image_size: int) -> np.ndarray | None:
    """One file as (S, S, 3) uint8: RGB, centre-cropped to a square, resized. None if unreadable."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (image_size, image_size))  # JPEG: libjpeg decodes at a reduced scale, faster
            rgb = img.convert("RGB")  # L, RGBA, P, CMYK, ... -> RGB; also where truncation is caught
        return np.asarray(ImageOps.fit(rgb, (image_size, image_size), Image.Resampling.LANCZOS))
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return None


def _listing_hash(folder: Path, files: list[Path]) -> str:
    """A short hash of the file list (relative path, size, mtime): changes whenever the folder does."""
    digest = hashlib.sha256(f"decode-v{DECODE_VERSION}\n".encode())
    for path in files:
        stat = path.stat()
        digest.update(f"{path.relative_to(folder).as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


def _names(paths: Sequence[str]) -> str:
    """`a, b, c` — or the first MAX_NAMES_SHOWN and `... and N more`."""
    shown = ", ".join(paths[:MAX_NAMES_SHOWN])
    return shown + (f", ... and {len(paths) - MAX_NAMES_SHOWN} more" if len(paths) > MAX_NAMES_SHOWN else "")


def _load_folder(folder: Path, image_size: int, cache_dir: Path) -> tuple[torch.Tensor, tuple[str, ...]]:
    """All images under `folder` as (N, 3, S, S) uint8, from the cache when the folder is unchanged.

    Unreadable files are skipped and named in one warning. Raises SourceUnavailable when the folder
    holds no image files, ValueError when it holds some but none of them can be decoded.
    """
    files = _find_images(folder) if folder.is_dir() else []
    if not files:
        raise SourceUnavailable(f"no image files under {folder}")
    cache = cache_dir / f"{FOLDER_NAME}_{image_size}px_{_listing_hash(folder, files)}.pt"
    if cache.exists():
        cached = torch.load(cache, map_location="cpu", weights_only=True)
        images, skipped = cached["images"], tuple(cached["skipped"])
    else:
        with ThreadPoolExecutor(DECODE_THREADS) as pool:  # map keeps the sorted order
            decoded = list(pool.map(lambda path: _decode_image(path, image_size), files))
        skipped = tuple(p.relative_to(folder).as_posix() for p, a in zip(files, decoded) if a is None)
        usable = [a for a in decoded if a is not None]
        if not usable:
            raise ValueError(f"None of the {len(files)} files under {folder} is a readable image: "
                             f"{_names([str(p) for p in files])}")
        images = torch.from_numpy(np.stack(usable)).permute(0, 3, 1, 2).contiguous()  # (N, S, S, 3) -> (N, 3, S, S)
        save_atomically({"images": images, "skipped": list(skipped)}, cache)
    if skipped:
        warnings.warn(f"Skipped {len(skipped)} unreadable image file(s) under {folder}: {_names(skipped)}",
                      stacklevel=4)  # point at the caller of load_abstract_art
    return images, skipped


# --- Finding a source -------------------------------------------------------------------------


def _kaggle_mount() -> tuple[Path, str]:
    """The first folder under KAGGLE_INPUT whose name contains "abstract" (Kaggle notebooks)."""
    if KAGGLE_INPUT.is_dir():
        for folder in sorted(KAGGLE_INPUT.iterdir()):
            if folder.is_dir() and "abstract" in folder.name.lower():
                return folder, f"Kaggle mount {folder}"
    raise SourceUnavailable(f"no folder with 'abstract' in its name under {KAGGLE_INPUT}")


def _on_colab() -> bool:
    try:
        import google.colab  # noqa: F401
    except ImportError:
        return False
    return True


def _colab_secrets() -> str | None:
    """Which Kaggle credentials Colab's Secrets hold for this notebook (as kagglehub reads them), or None."""
    from google.colab import userdata

    for names in COLAB_SECRET_SETS:
        try:
            if all(str(userdata.get(name) or "").strip() for name in names):
                return " + ".join(names)
        except Exception:  # noqa: BLE001 - SecretNotFoundError, NotebookAccessError: not there for us
            continue
    return None


def _kaggle_credentials() -> tuple[str | None, bool]:
    """(where kagglehub will find credentials, or None; whether this is Colab). Colab's Secrets are
    looked at only on Colab and where neither of the others holds credentials, as kagglehub does."""
    if os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY"):
        return "credentials from KAGGLE_USERNAME + KAGGLE_KEY", False
    if (Path.home() / ".kaggle" / KAGGLE_JSON).is_file():
        return f"credentials from ~/.kaggle/{KAGGLE_JSON}", False
    if not _on_colab():
        return None, False
    secrets = _colab_secrets()
    return (f"credentials from Colab's Secrets ({secrets})" if secrets else None), True


def _download(target: Path) -> tuple[Path, str]:
    """Download the gallery from Kaggle where credentials exist (or on Colab), never prompting.

    kagglehub keeps its own download folder; opendatasets downloads into `target`. On Colab kagglehub
    is tried even where no credentials were found: it reads Colab's Secrets itself, and may reach a
    public data set through Colab's cache of Kaggle data sets, or with no credentials at all.
    Returns (folder holding the images, a source line). Raises SourceUnavailable with the reasons.
    """
    failures = []
    credentials, on_colab = _kaggle_credentials()
    if credentials or on_colab:
        try:
            import kagglehub

            folder = Path(kagglehub.dataset_download(KAGGLE_DATASET))
            how = credentials or "on Colab, without Kaggle credentials"
            return folder, f"Kaggle download (kagglehub, {how}) {folder}"
        except Exception as err:  # noqa: BLE001 - network, auth, quota: report it, try the next way
            failures.append(f"kagglehub failed: {type(err).__name__}: {err}")
            if on_colab and not credentials:
                failures.append(f"no Kaggle credentials in Colab's Secrets: {COLAB_SECRETS_HELP}")
    if Path(KAGGLE_JSON).is_file():  # opendatasets prompts for credentials unless ./kaggle.json exists
        try:
            import opendatasets

            opendatasets.download(KAGGLE_URL, data_dir=str(target))
            return target, f"Kaggle download (opendatasets) {target}"
        except Exception as err:  # noqa: BLE001 - as above
            failures.append(f"opendatasets failed: {type(err).__name__}: {err}")
    raise SourceUnavailable("; ".join(failures) or
                       "no Kaggle credentials (KAGGLE_USERNAME + KAGGLE_KEY, ~/.kaggle/kaggle.json or ./kaggle.json; "
                       "on Colab, Colab's Secrets)")


def _local_sources(root: Path) -> list[Callable[[], tuple[Path, str]]]:
    """Sources 1 and 2, in order: each returns (folder, source line) or raises SourceUnavailable."""
    folder = root / FOLDER_NAME
    return [lambda: (folder, f"images in {folder}"), _kaggle_mount]


def find_art_folder(root: Path | str | None = None) -> Path | None:
    """The folder holding the real gallery's images, without downloading; None if there is none.

    For code that reads the image files itself (e.g. a torchvision ImageFolder pipeline).
    """
    root = Path(root) if root is not None else data_dir()
    for locate in _local_sources(root):
        try:
            folder, _ = locate()
        except SourceUnavailable:
            continue
        if folder.is_dir() and _find_images(folder):
            return folder
    return None


def _real_images(root: Path, image_size: int, download: bool) -> ArtImages:
    """The gallery from the first source that has it; SourceUnavailable listing why each one had not."""
    sources = _local_sources(root)
    if download:
        sources.append(lambda: _download(root / FOLDER_NAME))
    reasons = [] if download else ["download=False"]
    for locate in sources:
        try:
            source_folder, source = locate()
            images, skipped = _load_folder(source_folder, image_size, root / CACHE_FOLDER)
            return ArtImages(images, source, is_standin=False, skipped=skipped)
        except SourceUnavailable as reason:
            reasons.append(str(reason))
    raise SourceUnavailable("; ".join(reasons))


def _standin(num_images: int, image_size: int, seed: int, cache_dir: Path) -> torch.Tensor:
    """The procedural stand-in, cached: painting 2872 images takes seconds, loading them milliseconds."""
    cache = cache_dir / f"standin_art_n{num_images}_{image_size}px_seed{seed}_v{STANDIN_VERSION}.pt"
    if cache.exists():
        return torch.load(cache, map_location="cpu", weights_only=True)["images"]
    images = make_standin_art(num_images, image_size, seed)
    save_atomically({"images": images}, cache)
    return images


def load_abstract_art(image_size: int = 64, root: Path | str | None = None, download: bool = True,
                      num_standin: int = 2872, seed: int = 0) -> ArtImages:
    """The abstract-art images at `image_size` x `image_size`, from the first source that works.

    `root` defaults to the lab's data folder; `download=False` never contacts Kaggle.
    `num_standin` and `seed` shape the stand-in only. Prints one line saying what was loaded
    and, for the stand-in, why no real source was used.
    """
    if image_size not in ALLOWED_SIZES:
        raise ValueError(f"image_size must be one of {ALLOWED_SIZES}, got {image_size}")
    root = Path(root) if root is not None else data_dir()
    try:
        art, why = _real_images(root, image_size, download), ""
    except SourceUnavailable as reasons:
        images = _standin(num_standin, image_size, seed, root / CACHE_FOLDER)
        art, why = ArtImages(images, STANDIN_SOURCE, is_standin=True, skipped=()), f" ({reasons})"
    print(f"Abstract art: {art.source}, {len(art.images)} images at {image_size}x{image_size}{why}")
    return art
