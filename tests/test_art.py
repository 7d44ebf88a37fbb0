"""Tests for the abstract-art data: the procedural stand-in, and the loader's sources, decoding and cache.

Every test works on a handful of tiny images made in `tmp_path`. No test reaches Kaggle: the
autouse fixture replaces kagglehub and opendatasets with fakes that record their calls.
"""
from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from labutils.data import art, standin
from labutils.data.art import STANDIN_SOURCE, load_abstract_art
from labutils.data.standin import make_standin_art

SIZE = 32  # the loader tests' image size: the smallest allowed, the fastest


@pytest.fixture(autouse=True)
def kaggle_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """Isolate every test from Kaggle: fake clients, no credentials, HOME and cwd in tmp_path.

    The fakes record their calls and fail like an offline machine; a test can replace them.
    """
    calls: dict[str, list] = {"kagglehub": [], "opendatasets": []}

    def kagglehub_download(handle: str, **kwargs: object) -> str:
        calls["kagglehub"].append(handle)
        raise ConnectionError("offline (test)")

    def opendatasets_download(url: str, data_dir: str = ".", **kwargs: object) -> None:
        calls["opendatasets"].append((url, data_dir))
        raise ConnectionError("offline (test)")

    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(dataset_download=kagglehub_download))
    monkeypatch.setitem(sys.modules, "opendatasets", types.SimpleNamespace(download=opendatasets_download))
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    monkeypatch.setattr(art, "KAGGLE_INPUT", tmp_path / "kaggle_input")
    monkeypatch.setitem(sys.modules, "google.colab", None)  # not on Colab: `import google.colab` fails
    monkeypatch.setattr("builtins.input", lambda *args: pytest.fail("prompted on standard input"))
    return calls


def save_image(path: Path, mode: str = "RGB", size: tuple[int, int] = (48, 40),
               colour: int | tuple[int, ...] = (200, 60, 30)) -> Path:
    """A small one-colour image file; the format follows the extension."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, colour).save(path)
    return path


def save_noise_jpeg(path: Path, size: int = 64) -> Path:
    """A JPEG of random pixels: big enough that cutting it in half truncates its image data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=95)
    return path


def neighbour_to_random_ratio(images: torch.Tensor) -> torch.Tensor:
    """Per image: mean |difference| of horizontal neighbours / that of random pixel pairs.

    About 1 for noise; far below 1 for pictures made of shapes and strokes.
    """
    x = images.long()  # (N, 3, S, S)
    neighbours = (x[..., 1:] - x[..., :-1]).abs().float().mean(dim=(1, 2, 3))
    flat = x.flatten(2)  # (N, 3, S*S)
    g = torch.Generator().manual_seed(0)
    i, j = torch.randint(0, flat.shape[-1], (2, 4096), generator=g)
    random_pairs = (flat[..., i] - flat[..., j]).abs().float().mean(dim=(1, 2))
    return neighbours / random_pairs


def colours_in_use(image: torch.Tensor, min_share: float = 0.005) -> int:
    """Distinct colours (8 levels per channel) that each cover at least `min_share` of an image (3, S, S)."""
    q = image.long() // 32
    codes = (q[0] * 64 + q[1] * 8 + q[2]).flatten()
    return int((torch.bincount(codes, minlength=512) >= min_share * codes.numel()).sum())


# --- The stand-in -----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [32, 64, 128])
def test_standin_shape_and_dtype(size: int) -> None:
    images = make_standin_art(num_images=3, image_size=size, seed=0)
    assert images.shape == (3, 3, size, size)
    assert images.dtype == torch.uint8


def test_standin_is_deterministic_per_seed() -> None:
    assert torch.equal(make_standin_art(4, 32, seed=1), make_standin_art(4, 32, seed=1))
    assert not torch.equal(make_standin_art(4, 32, seed=1), make_standin_art(4, 32, seed=2))


def test_standin_image_depends_only_on_seed_and_index(monkeypatch: pytest.MonkeyPatch) -> None:
    few = make_standin_art(3, 32, seed=5)
    assert torch.equal(make_standin_art(7, 32, seed=5)[:3], few)
    monkeypatch.setattr(standin, "PARALLEL_MIN_IMAGES", 1)  # the same images when split over processes
    assert torch.equal(make_standin_art(7, 32, seed=5)[:3], few)


@pytest.mark.parametrize("size", [48, 256])
def test_standin_refuses_other_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="32, 64, 128"):
        make_standin_art(2, size)


def test_standin_images_are_pictures_not_flat_or_noise() -> None:
    images = make_standin_art(48, 64, seed=0)
    noise = torch.randint(0, 256, (4, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert neighbour_to_random_ratio(noise).min() > 0.9  # the measure does tell noise apart
    ratios = neighbour_to_random_ratio(images)
    assert ratios.max() < 0.7 and ratios.median() < 0.3  # neighbours alike: shapes, not noise
    colours = torch.tensor([colours_in_use(image) for image in images])
    assert colours.min() >= 2 and colours.float().median() >= 5  # not flat: several colours
    mean_colours = {tuple(image.flatten(1).float().mean(1).round().tolist()) for image in images}
    assert len(mean_colours) == len(images)  # all different


# --- Decoding a folder ------------------------------------------------------------------------


def test_folder_images_become_rgb_at_the_configured_size_and_broken_files_are_skipped(tmp_path: Path) -> None:
    gallery = tmp_path / "abstract_art" / "Abstract_gallery" / "Abstract_gallery"
    save_image(gallery / "a_rgb.jpg", "RGB", (300, 200))
    save_image(gallery / "b_grey.PNG", "L", (50, 80), 200)  # upper-case extension, grey
    save_image(gallery / "deeper" / "c_rgba.png", "RGBA", (40, 40), (10, 20, 30, 128))
    save_image(gallery / "d_palette.bmp", "P", (33, 65), 7)
    (gallery / "e_broken.jpg").write_bytes(b"not an image")
    jpeg = save_noise_jpeg(tmp_path / "whole.jpg").read_bytes()
    (gallery / "f_cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (gallery / "notes.txt").write_text("not an image extension: ignored, not skipped")

    with pytest.warns(UserWarning) as record:
        loaded = load_abstract_art(SIZE, root=tmp_path, download=False)

    skip_warnings = [str(w.message) for w in record if "unreadable" in str(w.message)]
    assert len(skip_warnings) == 1
    assert "2 unreadable" in skip_warnings[0] and "e_broken.jpg" in skip_warnings[0] and "f_cut.jpg" in skip_warnings[0]
    assert loaded.skipped == tuple(f"Abstract_gallery/Abstract_gallery/{n}" for n in ("e_broken.jpg", "f_cut.jpg"))
    assert not loaded.is_standin and str(tmp_path / "abstract_art") in loaded.source
    assert loaded.images.shape == (4, 3, SIZE, SIZE) and loaded.images.dtype == torch.uint8
    # Sorted by relative path: a_rgb, b_grey, d_palette, deeper/c_rgba.
    red, grey, _, rgba = loaded.images
    assert (red[0].float().mean() - 200).abs() < 3 and red[2].float().mean() < 60
    assert torch.all(grey == 200)  # L -> RGB copies the grey level into all three channels
    assert torch.equal(rgba[:, 0, 0], torch.tensor([10, 20, 30], dtype=torch.uint8))  # alpha dropped


def test_folder_without_a_readable_image_is_an_error(tmp_path: Path) -> None:
    gallery = tmp_path / "abstract_art"
    gallery.mkdir()
    (gallery / "broken.jpg").write_bytes(b"not an image")
    (gallery / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="broken.jpg") as error:
        load_abstract_art(SIZE, root=tmp_path, download=False)
    assert "empty.png" in str(error.value)


def test_decoded_folder_is_cached_and_rebuilt_when_a_file_is_added(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    gallery = tmp_path / "abstract_art"
    save_image(gallery / "one.png", colour=(255, 0, 0))
    save_image(gallery / "two.jpg", colour=(0, 0, 255))
    first = load_abstract_art(SIZE, root=tmp_path, download=False)
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 1
    assert not list(gallery.rglob("*.pt"))  # the cache never lands among the images

    decoded: list[str] = []
    real_decode = art._decode_image

    def counting_decode(path: Path, image_size: int) -> np.ndarray | None:
        decoded.append(path.name)
        return real_decode(path, image_size)

    monkeypatch.setattr(art, "_decode_image", counting_decode)
    second = load_abstract_art(SIZE, root=tmp_path, download=False)
    assert decoded == [] and torch.equal(first.images, second.images)  # from the cache

    save_image(gallery / "three.png", colour=(0, 255, 0))
    third = load_abstract_art(SIZE, root=tmp_path, download=False)
    assert sorted(decoded) == ["one.png", "three.png", "two.jpg"] and len(third.images) == 3


def test_standin_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = load_abstract_art(SIZE, root=tmp_path, download=False, num_standin=4)
    monkeypatch.setattr(art, "make_standin_art", lambda *args: pytest.fail("painted again"))
    second = load_abstract_art(SIZE, root=tmp_path, download=False, num_standin=4)
    assert torch.equal(first.images, second.images)
    assert [p.name for p in (tmp_path / "cache").glob("*.pt")] == [
        f"standin_art_n4_{SIZE}px_seed0_v{standin.STANDIN_VERSION}.pt"]


# --- Which source ----------------------------------------------------------------------------


def test_nothing_found_without_download_gives_the_labelled_standin(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                                    kaggle_calls: dict[str, list]) -> None:
    loaded = load_abstract_art(SIZE, root=tmp_path, download=False, num_standin=4, seed=3)
    assert loaded.is_standin and "STAND-IN" in loaded.source and loaded.source == STANDIN_SOURCE
    assert torch.equal(loaded.images, make_standin_art(4, SIZE, seed=3))
    assert art.find_art_folder(tmp_path) is None
    assert capsys.readouterr().out.startswith(f"Abstract art: {STANDIN_SOURCE}, 4 images at {SIZE}x{SIZE}")
    assert kaggle_calls == {"kagglehub": [], "opendatasets": []}


def test_local_folder_wins_over_the_kaggle_mount(tmp_path: Path) -> None:
    save_image(tmp_path / "abstract_art" / "only.png")
    for k in range(2):
        save_image(tmp_path / "kaggle_input" / "abstract-art-gallery" / f"{k}.jpg")
    loaded = load_abstract_art(SIZE, root=tmp_path, download=False)
    assert len(loaded.images) == 1 and str(tmp_path / "abstract_art") in loaded.source
    assert art.find_art_folder(tmp_path) == tmp_path / "abstract_art"


def test_kaggle_mount_is_used(tmp_path: Path) -> None:
    save_image(tmp_path / "kaggle_input" / "mnist" / "digit.png")  # a mounted data set without "abstract"
    mount = tmp_path / "kaggle_input" / "Abstract-Art-Gallery"
    for k in range(3):
        save_image(mount / "Abstract_gallery" / "Abstract_gallery" / f"Abstract_image_{k}.jpg")
    loaded = load_abstract_art(SIZE, root=tmp_path / "data", download=False)
    assert not loaded.is_standin and loaded.source == f"Kaggle mount {mount}" and len(loaded.images) == 3
    assert not list(mount.rglob("*.pt")) and list((tmp_path / "data" / "cache").glob("*.pt"))
    assert art.find_art_folder(tmp_path / "data") == mount


def test_kagglehub_downloads_when_credentials_are_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     kaggle_calls: dict[str, list]) -> None:
    downloaded = tmp_path / "kagglehub_cache"
    for k in range(2):
        save_image(downloaded / "Abstract_gallery" / f"{k}.jpg")
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    monkeypatch.setattr(sys.modules["kagglehub"], "dataset_download",
                        lambda handle: kaggle_calls["kagglehub"].append(handle) or str(downloaded))
    loaded = load_abstract_art(SIZE, root=tmp_path / "data")
    assert kaggle_calls["kagglehub"] == ["bryanb/abstract-art-gallery"]
    assert not loaded.is_standin and len(loaded.images) == 2 and "kagglehub" in loaded.source


def test_failed_download_falls_back_to_the_standin_and_says_why(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               kaggle_calls: dict[str, list]) -> None:
    kaggle_json = tmp_path / "home" / ".kaggle" / "kaggle.json"
    kaggle_json.parent.mkdir(parents=True)
    kaggle_json.write_text('{"username": "someone", "key": "secret"}')
    loaded = load_abstract_art(SIZE, root=tmp_path / "data", num_standin=2)
    assert kaggle_calls["kagglehub"] == ["bryanb/abstract-art-gallery"] and loaded.is_standin
    assert "kagglehub failed: ConnectionError: offline (test)" in capsys.readouterr().out


def test_opendatasets_is_never_called_without_kaggle_json_in_cwd(tmp_path: Path, kaggle_calls: dict[str, list]) -> None:
    assert not Path("kaggle.json").exists() and Path.cwd() == tmp_path / "cwd"
    loaded = load_abstract_art(SIZE, root=tmp_path / "data", download=True, num_standin=2)
    assert loaded.is_standin
    assert kaggle_calls == {"kagglehub": [], "opendatasets": []}


def test_opendatasets_downloads_into_the_folder_with_kaggle_json_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        kaggle_calls: dict[str, list]) -> None:
    Path("kaggle.json").write_text('{"username": "someone", "key": "secret"}')

    def fake_download(url: str, data_dir: str = ".") -> None:
        kaggle_calls["opendatasets"].append((url, data_dir))
        save_image(Path(data_dir) / "abstract-art-gallery" / "Abstract_gallery" / "x.jpg")

    monkeypatch.setattr(sys.modules["opendatasets"], "download", fake_download)
    loaded = load_abstract_art(SIZE, root=tmp_path / "data")
    assert kaggle_calls["opendatasets"] == [(art.KAGGLE_URL, str(tmp_path / "data" / "abstract_art"))]
    assert not loaded.is_standin and len(loaded.images) == 1 and "opendatasets" in loaded.source
    assert os.path.exists(tmp_path / "data" / "abstract_art" / "abstract-art-gallery" / "Abstract_gallery" / "x.jpg")


# --- Colab's Secrets ---------------------------------------------------------------------------


def fake_colab(monkeypatch: pytest.MonkeyPatch, secrets: dict[str, str], refused: tuple[str, ...] = ()) -> None:
    """`google.colab` as on Colab, its Secrets holding `secrets`; reading one of `refused` fails as a secret
    the notebook was not granted access to does. Any other name is missing, as `userdata.get` reports it."""
    class SecretNotFoundError(Exception):
        pass

    class NotebookAccessError(Exception):
        pass

    def get(name: str) -> str:
        if name in refused:
            raise NotebookAccessError(name)
        if name not in secrets:
            raise SecretNotFoundError(name)
        return secrets[name]

    colab = types.ModuleType("google.colab")
    colab.userdata = types.SimpleNamespace(get=get)
    google = types.ModuleType("google")
    google.colab = colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", colab)


@pytest.mark.parametrize("secrets, named", [
    ({"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": "secret"}, "KAGGLE_USERNAME + KAGGLE_KEY"),
    ({"KAGGLE_API_TOKEN": "token"}, "KAGGLE_API_TOKEN"),
])
def test_on_colab_kagglehub_downloads_with_colab_secrets_and_the_source_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        kaggle_calls: dict[str, list], secrets: dict[str, str], named: str) -> None:
    fake_colab(monkeypatch, secrets)
    downloaded = tmp_path / "kagglehub_cache"
    save_image(downloaded / "Abstract_gallery" / "0.jpg")
    monkeypatch.setattr(sys.modules["kagglehub"], "dataset_download",
                        lambda handle: kaggle_calls["kagglehub"].append(handle) or str(downloaded))
    loaded = load_abstract_art(SIZE, root=tmp_path / "data")
    assert kaggle_calls["kagglehub"] == ["bryanb/abstract-art-gallery"] and not loaded.is_standin
    assert loaded.source == f"Kaggle download (kagglehub, credentials from Colab's Secrets ({named})) {downloaded}"
    assert capsys.readouterr().out.startswith(f"Abstract art: {loaded.source}, 1 images")


@pytest.mark.parametrize("refused", [(), ("KAGGLE_USERNAME", "KAGGLE_KEY")])
def test_on_colab_without_secrets_kagglehub_still_tries_then_the_standin_says_why(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture,
        kaggle_calls: dict[str, list], refused: tuple[str, ...]) -> None:
    fake_colab(monkeypatch, {}, refused)  # none kept, or kept but this notebook may not read them
    loaded = load_abstract_art(SIZE, root=tmp_path / "data", num_standin=2)
    assert kaggle_calls == {"kagglehub": ["bryanb/abstract-art-gallery"], "opendatasets": []} and loaded.is_standin
    out = capsys.readouterr().out
    assert out.startswith(f"Abstract art: {STANDIN_SOURCE}, 2 images")
    assert "kagglehub failed: ConnectionError: offline (test)" in out
    assert "no Kaggle credentials in Colab's Secrets: add KAGGLE_USERNAME and KAGGLE_KEY" in out


def test_off_colab_without_credentials_kagglehub_is_not_called(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                               kaggle_calls: dict[str, list]) -> None:
    loaded = load_abstract_art(SIZE, root=tmp_path / "data", num_standin=2)
    assert loaded.is_standin and kaggle_calls == {"kagglehub": [], "opendatasets": []}
    out = capsys.readouterr().out
    assert "no Kaggle credentials (KAGGLE_USERNAME + KAGGLE_KEY" in out and "Colab's Secrets:" not in out


def test_credentials_in_the_environment_come_before_colab_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  kaggle_calls: dict[str, list]) -> None:
    fake_colab(monkeypatch, {})
    monkeypatch.setattr(sys.modules["google.colab"].userdata, "get",
                        lambda name: pytest.fail("read Colab's Secrets though the environment holds credentials"))
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    downloaded = tmp_path / "kagglehub_cache"
    save_image(downloaded / "0.jpg")
    monkeypatch.setattr(sys.modules["kagglehub"], "dataset_download", lambda handle: str(downloaded))
    loaded = load_abstract_art(SIZE, root=tmp_path / "data")
    assert loaded.source == f"Kaggle download (kagglehub, credentials from KAGGLE_USERNAME + KAGGLE_KEY) {downloaded}"
