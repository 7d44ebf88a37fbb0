"""The FID's code path on tiny made-up images: where the weights are looked for, what happens offline,
and the distance and its floor with a stand-in network in Inception's place. No test downloads."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest
import scipy.linalg
import torch
import torch.nn as nn
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from labutils.metrics import fid, images as image_metrics


@pytest.fixture(autouse=True)
def no_local_weights(monkeypatch, tmp_path):
    """An empty torch hub cache and no weights or download setting in the environment."""
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.delenv(fid.WEIGHTS_ENV, raising=False)
    monkeypatch.delenv(fid.DOWNLOAD_ENV, raising=False)


def _grey(n: int, seed: int, shift: int = 0) -> torch.Tensor:
    """n grey 16 x 16 uint8 images: smooth random blobs, optionally brightened by `shift`."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 1, 4, 4, generator=g) * 160 + shift
    return nn.functional.interpolate(low, size=16, mode="bilinear").round().clamp(0, 255).to(torch.uint8)


class StandIn(nn.Module):
    """torch-fidelity's Inception interface (uint8 (B, 3, H, W) in, a tuple of features out) around a
    fixed random projection of 4 x 4 average-pooled pixels: (B, 3, H, W) -> (B, 16). Records its inputs."""

    built: list[dict] = []  # the arguments of each construction
    instances: list[StandIn] = []

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__()
        StandIn.built.append({"features": features_list, "path": feature_extractor_weights_path})
        StandIn.instances.append(self)
        self.projection = nn.Linear(48, 16)
        nn.init.normal_(self.projection.weight, generator=torch.Generator().manual_seed(0))
        self.seen: list[torch.Tensor] = []

    def forward(self, x):
        assert x.dtype == torch.uint8 and x.shape[1] == 3  # what the real one asserts
        self.seen.append(x.clone())
        return (self.projection(nn.functional.adaptive_avg_pool2d(x.float(), 4).flatten(1)),)


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    """StandIn as torch-fidelity's Inception, with a (dummy) weights file in the hub cache."""
    StandIn.built, StandIn.instances = [], []
    monkeypatch.setattr(tf_inception, "FeatureExtractorInceptionV3", StandIn)
    fid.fid_weights_dir().mkdir(parents=True)
    (fid.fid_weights_dir() / fid.WEIGHTS_FILES[1]).write_bytes(b"stand-in")
    return StandIn


def _scipy_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """The original FID formula (Heusel et al.'s TTUR code): |mu_a - mu_b|^2 + tr(S_a + S_b - 2 sqrtm(S_a S_b))."""
    a, b = a.double().numpy(), b.double().numpy()
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(s_a @ s_b).real
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s_a + s_b - 2 * root))


def test_offline_without_weights_returns_none_quickly_and_says_why(monkeypatch, capsys):
    """The real torch-fidelity network is built; its download meets a machine with no network at all."""
    timeouts = []

    def no_network(*args, **kwargs):
        timeouts.append(socket.getdefaulttimeout())
        raise socket.gaierror(-2, "Name or service not known (test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    real = _grey(16, 0)
    start = time.perf_counter()
    assert image_metrics.fid_against_floor(real, real, n=8) is None
    assert time.perf_counter() - start < 20
    assert timeouts == [fid.DOWNLOAD_TIMEOUT_S]  # one attempt, under the lab's timeout, no retries
    assert socket.getdefaulttimeout() is None  # and the timeout is lifted afterwards
    said = capsys.readouterr().out
    assert f"FID {fid.UNAVAILABLE}: no {fid.WEIGHTS_FILES[0]} in {fid.fid_weights_dir()}" in said
    assert "the download failed (URLError" in said and "Name or service not known (test)" in said


def test_a_server_that_never_answers_times_out(monkeypatch, capsys):
    """A connection that opens and then stays silent (a stalled network) ends after the lab's timeout,
    not the operating system's. The server is closed after 15 s, so a missing timeout fails, not hangs."""
    server = socket.create_server(("127.0.0.1", 0))  # listens; the backlog accepts; nothing ever answers
    closer = threading.Timer(15, server.close)
    closer.start()
    monkeypatch.setattr(fid, "DOWNLOAD_TIMEOUT_S", 1)
    monkeypatch.setattr(tf_inception, "URL_INCEPTION_V3", f"http://127.0.0.1:{server.getsockname()[1]}/w.pth")
    start = time.perf_counter()
    try:
        assert image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4) is None
    finally:
        closer.cancel()
        server.close()
    assert time.perf_counter() - start < 10
    assert "the download failed (TimeoutError" in capsys.readouterr().out


def test_a_failing_download_function_gives_none(monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url",
                        lambda url, **kwargs: calls.append(url) or (_ for _ in ()).throw(TimeoutError("timed out")))
    assert image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4) is None
    assert calls == [tf_inception.URL_INCEPTION_V3]
    assert "the download failed (TimeoutError: timed out)" in capsys.readouterr().out


@pytest.mark.parametrize("setting", ["0", "off"])
def test_downloads_switched_off_never_reach_the_network(monkeypatch, capsys, setting):
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: pytest.fail("downloaded"))
    monkeypatch.setenv(fid.DOWNLOAD_ENV, setting)
    assert not fid.download_allowed() and fid.download_allowed(True)
    assert image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4) is None
    assert "downloads are off" in capsys.readouterr().out
    monkeypatch.delenv(fid.DOWNLOAD_ENV)
    assert fid.download_allowed() and image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4,
                                                                       download=False) is None


def test_a_missing_file_named_by_the_variable_is_the_reason(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: pytest.fail("downloaded"))
    monkeypatch.setenv(fid.WEIGHTS_ENV, str(tmp_path / "nowhere.pth"))
    why = f"{fid.WEIGHTS_ENV}={tmp_path / 'nowhere.pth'} is not a file"
    assert image_metrics.find_inception_weights() == (None, why)
    assert image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4) is None
    assert "nowhere.pth is not a file" in capsys.readouterr().out


def test_weights_are_found_in_the_variable_then_the_hub_cache(monkeypatch, tmp_path):
    assert not image_metrics.inception_weights_available()
    fid.fid_weights_dir().mkdir(parents=True)
    cached = fid.fid_weights_dir() / fid.WEIGHTS_FILES[0]
    cached.write_bytes(b"")
    assert image_metrics.inception_weights_path() == cached
    mine = tmp_path / "my-inception.pth"
    mine.write_bytes(b"")
    monkeypatch.setenv(fid.WEIGHTS_ENV, str(mine))
    assert image_metrics.inception_weights_path() == mine


def test_fid_is_the_frechet_distance_of_the_networks_features(stand_in):
    n = 20
    real, fake = _grey(2 * n + 5, 0), _grey(n + 3, 1, shift=40)
    result = image_metrics.fid_against_floor(real, fake, n=n, seed=3)
    (model,) = stand_in.instances
    assert stand_in.built == [{"features": ["2048"], "path": str(fid.fid_weights_dir() / fid.WEIGHTS_FILES[1])}]
    reference, generated, other = model.seen  # one batch per set, in this order
    assert all(x.shape == (n, 3, 16, 16) and torch.equal(x[:, 0], x[:, 2]) for x in model.seen)  # grey -> RGB
    assert torch.equal(generated[:, :1], fake[:n])
    rows = {bytes(im.numpy()): i for i, im in enumerate(real)}
    ref_rows, other_rows = ({rows[bytes(im[:1].numpy())] for im in x} for x in (reference, other))
    assert len(ref_rows) == len(other_rows) == n and not ref_rows & other_rows  # two disjoint real samples
    with torch.no_grad():
        f_ref, f_fake, f_other = (model(x)[0] for x in (reference, generated, other))
    assert result == {"distance": pytest.approx(_scipy_frechet(f_ref, f_fake), rel=1e-6),
                      "floor": pytest.approx(_scipy_frechet(f_ref, f_other), rel=1e-6), "n": n}
    assert result["distance"] == pytest.approx(_torch_fidelity_fid(f_ref, f_fake), rel=1e-6)
    with pytest.raises(ValueError, match="uint8"):
        image_metrics.inception_features(fake.float(), model)


def test_same_distribution_sits_near_the_floor_a_shifted_one_far_above(stand_in):
    real = _grey(120, 0)
    same = image_metrics.fid_against_floor(real, real, n=40, seed=1)
    new_draws = image_metrics.fid_against_floor(real, _grey(40, 7), n=40, seed=1)
    shifted = image_metrics.fid_against_floor(real, _grey(40, 7, shift=50), n=40, seed=1)
    assert same["floor"] > 0
    assert new_draws["floor"] == pytest.approx(same["floor"]) and shifted["floor"] == pytest.approx(same["floor"])
    assert same["distance"] < 2 * same["floor"] and new_draws["distance"] < 2 * new_draws["floor"]
    assert shifted["distance"] > 5 * shifted["floor"]


def _torch_fidelity_fid(a: torch.Tensor, b: torch.Tensor) -> float:
    """torch-fidelity's own FID of two feature sets."""
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric

    stats = [fid_features_to_statistics(x.double()) for x in (a, b)]
    return fid_statistics_to_metric(*stats, verbose=False)["frechet_inception_distance"]


def test_the_real_network_from_a_weights_file_named_by_the_variable(monkeypatch, tmp_path):
    """torch-fidelity's own Inception (random weights: the file is made here) on 16 px grey uint8 images:
    loaded strictly from LAB_FID_WEIGHTS, resized by the library, 2048 features per image. About 10 s."""
    with monkeypatch.context() as m:  # build the architecture once without any weights, to save a file
        m.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, state: None)
        torch.manual_seed(0)
        weights = tf_inception.FeatureExtractorInceptionV3("x", ["2048"]).state_dict()
    torch.save(weights, tmp_path / fid.WEIGHTS_FILES[1])
    monkeypatch.setenv(fid.WEIGHTS_ENV, str(tmp_path / fid.WEIGHTS_FILES[1]))
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: pytest.fail("downloaded"))
    model = fid._inception(fid.inception_weights_path(), torch.device("cpu"))
    torch.testing.assert_close(model.Conv2d_1a_3x3.conv.weight, weights["Conv2d_1a_3x3.conv.weight"])
    features = image_metrics.inception_features(_grey(2, 0), model)
    assert features.shape == (2, 2048) and features.dtype == torch.float64 and torch.isfinite(features).all()


def test_a_file_that_is_not_the_weights_is_named_in_the_error(monkeypatch, tmp_path):
    (tmp_path / "wrong.pth").write_bytes(b"not a checkpoint")
    monkeypatch.setenv(fid.WEIGHTS_ENV, str(tmp_path / "wrong.pth"))
    with pytest.raises(RuntimeError, match="wrong.pth is not the FID Inception-v3 weights file"):
        image_metrics.fid_against_floor(_grey(8, 0), _grey(4, 1), n=4)
