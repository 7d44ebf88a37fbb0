"""Published checkpoints (labutils/training/published.py) against a real HTTP server on the loopback
address: a good download loads and nothing trains; a wrong hash, a truncated file, a dropped transfer, a
404, a refused connection and files that are not this run's checkpoint are each refused in one line that
says why, leave nothing behind, and the run trains. `make publish-checkpoints`' entries (labtools/publish.py)
are what the download side accepts."""
import argparse
import hashlib
import http.server
import io
import json
import os
import socket
import threading
import time
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from labtools import publish
from labutils.config import VAEConfig
from labutils.data.loaders import TensorLoader
from labutils.models import Autoencoder
from labutils.training import published
from labutils.training.engine import Trainer
from labutils.training.loop import train_loop
from labutils.training.steps import AutoencoderStep

ROOT = Path(__file__).resolve().parent.parent
RUN = "autoencoder-0123abcd"  # any run id: the registry is the test's own
CONFIG = {"family": "tiny autoencoder", "num_epochs": 2}


def _sha(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


class Spy:
    """The training loop, noting what the checkpoints' folder held when training began."""

    def __init__(self, folder: Path):
        self.folder, self.seen = folder, None

    def __call__(self, *args):
        self.seen = sorted(p.name for p in self.folder.iterdir())
        return train_loop(*args)


def _trainer(folder: Path, run: str = RUN, config: dict = CONFIG, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    model = Autoencoder(hidden_dims=(16,), latent_dim=4)
    x = torch.rand(64, 784, generator=torch.Generator().manual_seed(0))
    y = torch.zeros(64, dtype=torch.long)
    train = TensorLoader(x, y, batch_size=16, shuffle=True, seed=0)
    test = TensorLoader(x[:32], y[:32], batch_size=16)
    trainer = Trainer(AutoencoderStep(model, VAEConfig(lr=1e-2)), train, 2, test_loader=test,
                      checkpoint_path=folder / f"{run}.pt", config=config, progress=False, verbose=False, **kwargs)
    return trainer, model


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """A finished tiny run, as a maintainer would publish it: its file's bytes, weights and last epoch."""
    folder = tmp_path_factory.mktemp("made")
    trainer, model = _trainer(folder)
    history = trainer.fit()
    return SimpleNamespace(body=(folder / f"{RUN}.pt").read_bytes(), last=history.epochs[-1],
                           weights=[p.detach().clone() for p in model.parameters()])


@pytest.fixture
def server():
    """A file server on 127.0.0.1 at a free port; `files` is what it serves, `requests` what it was asked.
    /drop/NAME announces NAME's whole length, sends half of it and hangs up."""
    files, requests = {}, []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            name = self.path.lstrip("/")
            dropped = name.startswith("drop/")
            body = files.get(name.removeprefix("drop/"))
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2] if dropped else body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(url=f"http://127.0.0.1:{httpd.server_port}", files=files, requests=requests)
    httpd.shutdown()
    httpd.server_close()


def _register(tmp_path: Path, monkeypatch, urls: list[str], body: bytes, **changes) -> dict:
    """A registry of one entry (the run RUN at `urls`, described as `body`), in force for the test."""
    entry = {"urls": urls, "sha256": _sha(body), "size": len(body), "commit": "c0ffee" * 6 + "0123",
             "profile": "smoke", "metric": {"test_loss": 0.05, "epochs": 2}, **changes}
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"format": published.FORMAT, "checkpoints": {RUN: entry}}))
    monkeypatch.setenv(published.REGISTRY_ENV, str(path))
    monkeypatch.delenv(published.DOWNLOAD_ENV, raising=False)
    return entry


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed on leaving: nothing listens there


def test_a_good_download_loads_and_nothing_trains(made, server, tmp_path, monkeypatch, capsys):
    server.files["good.pt"] = made.body
    _register(tmp_path, monkeypatch, [f"{server.url}/good.pt"], made.body)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    spy = Spy(folder)
    trainer, model = _trainer(folder, seed=123, loop=spy)  # other initial weights: the download must replace them
    history = trainer.fit()
    out = capsys.readouterr().out
    assert f"Downloaded {RUN}.pt ({len(made.body) / 1e6:.1f} MB, sha256 verified) from {server.url}/good.pt: " \
           "trained at c0ffeec0ffee " \
           "(smoke profile; test_loss 0.05, epochs 2)." in out
    assert server.requests == ["/good.pt"]
    assert spy.seen is None and trainer.loaded_complete  # the loop never ran
    assert history.epochs[-1] == made.last
    assert [p.name for p in folder.iterdir()] == [f"{RUN}.pt"] and (folder / f"{RUN}.pt").read_bytes() == made.body
    for downloaded, published_weights in zip(model.parameters(), made.weights):
        assert torch.equal(downloaded, published_weights)


def _state(made) -> dict:
    return torch.load(io.BytesIO(made.body), weights_only=True)


def _unfinished(made) -> bytes:
    state = _state(made)
    state["history"]["epochs"] = state["history"]["epochs"][:1]
    return _saved(state)


def _other_config(made) -> bytes:
    return _saved({**_state(made), "config": {**CONFIG, "family": "another"}})


def _other_network(made) -> bytes:
    state = _state(made)
    modules = state["step"]["modules"]
    name = next(iter(modules))
    modules[name] = {k: torch.zeros(3) for k in modules[name]}
    return _saved(state)


HTML = b"<!DOCTYPE html><html><body>Not Found</body></html>"  # what a wrong release URL might serve
# Each case: (what the server holds, the path the registry names, what the registry says the file is),
# and the problem the one line must name.
CASES = {
    "wrong hash": (lambda m: {"good.pt": m.body}, "good.pt", lambda m: (m.body + b"x", {"size": len(m.body)}),
                   lambda m: f"sha256 {_sha(m.body)[:16]}... is not the registry's {_sha(m.body + b'x')[:16]}..."),
    "truncated file": (lambda m: {"half.pt": m.body[:len(m.body) // 2]}, "half.pt", lambda m: (m.body, {}),
                       lambda m: f"the server offers {len(m.body) // 2} bytes, the registry says {len(m.body)}"),
    "dropped transfer": (lambda m: {"good.pt": m.body}, "drop/good.pt", lambda m: (m.body, {}),
                         lambda m: f"{len(m.body) // 2} bytes received, the registry says {len(m.body)}"),
    "404": (lambda m: {}, "missing.pt", lambda m: (m.body, {}), lambda m: "HTTP 404 Not Found"),
    "an HTML page": (lambda m: {"page.pt": HTML}, "page.pt", lambda m: (HTML, {}),
                     lambda m: "torch.load(weights_only=True) refuses it: Unsupported "),
    "code in the pickle": (lambda m: {"code.pt": _saved(argparse.Namespace(step=1))}, "code.pt",
                           lambda m: (_saved(argparse.Namespace(step=1)), {}),
                           lambda m: "torch.load(weights_only=True) refuses it: Unsupported global: GLOBAL "
                                     "argparse.Namespace was not an allowed global by default"),
    "not the engine's": (lambda m: {"w.pt": _saved({"weights": torch.zeros(2)})}, "w.pt",
                         lambda m: (_saved({"weights": torch.zeros(2)}), {}),
                         lambda m: "not a checkpoint of the lab's engine (it holds keys ['weights'])"),
    "another config": (lambda m: {"other.pt": _other_config(m)}, "other.pt", lambda m: (_other_config(m), {}),
                       lambda m: "a checkpoint of another config (fields ['family'])"),
    "unfinished": (lambda m: {"part.pt": _unfinished(m)}, "part.pt", lambda m: (_unfinished(m), {}),
                   lambda m: "an unfinished run (1 of 2 epochs)"),
    "another network": (lambda m: {"net.pt": _other_network(m)}, "net.pt", lambda m: (_other_network(m), {}),
                        lambda m: "its 'model' weights do not fit this run's network"),
}


def _assert_refused_then_trained(trainer, spy, folder, out, url, problem):
    """One line, naming the URL and the problem (`problem`: all of it, or how it begins); then training."""
    lines = [line for line in out.splitlines() if "Published checkpoint" in line or "Downloaded" in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Published checkpoint not used: {url}: {problem}"), lines[0]
    assert lines[0].endswith("; training it here instead."), lines[0]
    assert spy.seen == []  # when training began: no checkpoint, no partial file
    assert not trainer.loaded_complete and len(trainer.history) == 2  # it trained, both epochs
    assert [p.name for p in folder.iterdir()] == [f"{RUN}.pt"]  # the trained run, nothing else


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_download_is_refused_in_one_line_leaves_nothing_and_trains(case, made, server, tmp_path, monkeypatch,
                                                                         capsys):
    files, path, registered, problem = CASES[case]
    server.files.update(files(made))
    body, changes = registered(made)
    url = f"{server.url}/{path}"
    _register(tmp_path, monkeypatch, [url], body, **changes)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    spy = Spy(folder)
    trainer, _ = _trainer(folder, loop=spy)
    trainer.fit()
    assert server.requests == [f"/{path}"]
    _assert_refused_then_trained(trainer, spy, folder, capsys.readouterr().out, url, problem(made))


def test_a_refused_connection_is_one_line_and_trains(made, tmp_path, monkeypatch, capsys):
    url = f"http://127.0.0.1:{_closed_port()}/good.pt"
    _register(tmp_path, monkeypatch, [url], made.body)
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    spy = Spy(folder)
    trainer, _ = _trainer(folder, loop=spy)
    trainer.fit()
    _assert_refused_then_trained(trainer, spy, folder, capsys.readouterr().out, url,
                                 "no connection ([Errno 111] Connection refused)")


def test_the_urls_are_tried_in_order(made, server, tmp_path, monkeypatch, capsys):
    server.files["good.pt"] = made.body
    urls = [f"{server.url}/gone.pt", f"{server.url}/good.pt"]
    _register(tmp_path, monkeypatch, urls, made.body)
    trainer, _ = _trainer(tmp_path / "checkpoints")
    trainer.fit()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"Published checkpoint not used: {urls[0]}: HTTP 404 Not Found; trying the next URL."
    assert lines[1].startswith(f"Downloaded {RUN}.pt ({len(made.body) / 1e6:.1f} MB, sha256 verified) from {urls[1]}")
    assert trainer.loaded_complete and server.requests == ["/gone.pt", "/good.pt"]


def test_no_request_for_an_unlisted_run_a_retrain_or_downloads_turned_off(made, server, tmp_path, monkeypatch,
                                                                          capsys):
    server.files["good.pt"] = made.body
    _register(tmp_path, monkeypatch, [f"{server.url}/good.pt"], made.body)
    edited, _ = _trainer(tmp_path / "edited", run="autoencoder-ffffffff")  # edited code: another fingerprint
    edited.fit()
    retrain, _ = _trainer(tmp_path / "retrain", download=False)  # train_mnist_model(retrain=True)
    retrain.fit()
    assert capsys.readouterr().out == ""
    monkeypatch.setenv(published.DOWNLOAD_ENV, "0")
    offline, _ = _trainer(tmp_path / "offline")
    offline.fit()
    assert capsys.readouterr().out == f"{RUN} is published, but LAB_CHECKPOINT_DOWNLOAD=0: training it here.\n"
    assert published.published(RUN) is None  # what the estimates read: it will train
    assert server.requests == []
    assert not any(t.loaded_complete for t in (edited, retrain, offline))


def test_the_estimates_count_a_published_run_as_loaded_unless_downloads_are_off(made, tmp_path, monkeypatch):
    from labutils.estimates import Planned

    _register(tmp_path, monkeypatch, ["https://example.org/never-asked.pt"], made.body)
    planned = [Planned("s", "autoencoder", 2, 64, 784, tmp_path / f"{run}.pt") for run in (RUN, "autoencoder-ffffffff")]
    assert [p.loaded for p in planned] == [True, False]
    assert planned[0].seconds({"autoencoder": 1.0}) == 0.0
    monkeypatch.setenv(published.DOWNLOAD_ENV, "off")
    assert not planned[0].loaded


def test_a_broken_registry_is_one_line_and_trains(tmp_path, monkeypatch, capsys):
    path = tmp_path / "registry.json"
    path.write_text(json.dumps({"format": 1, "checkpoints": {RUN: {"urls": ["https://x/a.pt"], "sha256": "abc"}}}))
    monkeypatch.setenv(published.REGISTRY_ENV, str(path))
    trainer, _ = _trainer(tmp_path / "checkpoints")
    trainer.fit()
    assert capsys.readouterr().out == f"Published checkpoints not read ({RUN}: 'size' missing or not int); " \
                                      f"training {RUN} here.\n"
    assert not trainer.loaded_complete


def test_the_committed_registry_is_valid_and_installed_with_the_package():
    entries = published.read_registry(published.REGISTRY)  # raises on a malformed entry
    for run_id, entry in entries.items():
        assert all(url.startswith("https://") for url in entry["urls"]), run_id  # published: not a local server
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert published.REGISTRY.name in package_data["labutils.training"]
    assert published.REGISTRY.parent == ROOT / "labutils" / "training"


def _last_run(outputs: Path, started: float) -> None:
    stamp = datetime.fromtimestamp(started, tz=timezone.utc).isoformat(timespec="seconds")
    record = {"profile": "smoke", "git_commit": "ab" * 20, "started": stamp, "status": "ok", "notebooks": {}}
    (outputs / "run_01_autoencoder.json").write_text(json.dumps(record))
    older = {**record, "profile": "full", "started": "2020-01-01T00:00:00+00:00"}
    (outputs / "run.json").write_text(json.dumps(older))  # an older run's record: not the last


def test_publish_packs_the_last_runs_finished_checkpoints_and_the_download_side_accepts_them(
        made, server, tmp_path, monkeypatch, capsys):
    outputs = tmp_path / "outputs"
    (outputs / "checkpoints").mkdir(parents=True)
    (outputs / "metrics").mkdir()
    started = time.time() - 60
    _last_run(outputs, started)
    (outputs / "checkpoints" / f"{RUN}.pt").write_bytes(made.body)
    (outputs / "checkpoints" / "autoencoder-unfinished.pt").write_bytes(_unfinished(made))
    older = outputs / "checkpoints" / "autoencoder-older.pt"
    older.write_bytes(made.body)
    os.utime(older, (started - 3600, started - 3600))  # an earlier run's: its commit is not known
    (outputs / "metrics" / "01_autoencoder.json").write_text(
        json.dumps({"notebook": "01_autoencoder", "checkpoints": [f"{RUN}.pt"]}))
    monkeypatch.setenv("LAB_OUTPUTS", str(outputs))
    registry = tmp_path / "committed.json"  # stands for the committed registry
    registry.write_text(json.dumps({"format": published.FORMAT, "checkpoints": {}}))
    monkeypatch.setenv(published.REGISTRY_ENV, str(registry))
    monkeypatch.delenv(published.DOWNLOAD_ENV, raising=False)  # make test turns downloads off

    assert publish.main(["--base-url", f"{server.url}/release", "--base-url", f"{server.url}/mirror"]) == 0
    out = capsys.readouterr().out
    assert "skipped autoencoder-older.pt: written before the run" in out
    assert "skipped autoencoder-unfinished.pt: not finished (1 of 2 epochs)" in out
    assert json.loads(registry.read_text())["checkpoints"] == {}  # not without --write-registry
    written = json.loads((outputs / "publish" / "registry.json").read_text())
    assert written == {"format": 1, "checkpoints": {RUN: {
        "urls": [f"{server.url}/release/{RUN}.pt", f"{server.url}/mirror/{RUN}.pt"],
        "sha256": _sha(made.body), "size": len(made.body), "commit": "ab" * 20, "profile": "smoke",
        "metric": {"test_loss": round(made.last["test_loss"], 6), "epochs": 2, "notebook": "01_autoencoder"}}}}
    assert sorted(p.name for p in (outputs / "publish").iterdir()) == [f"{RUN}.pt", "registry.json"]

    assert publish.main(["--base-url", f"{server.url}/release", "--write-registry"]) == 0
    assert list(json.loads(registry.read_text())["checkpoints"]) == [RUN]

    # The maintainer uploads the file; a fresh outputs folder loads it instead of training.
    server.files[f"release/{RUN}.pt"] = (outputs / "publish" / f"{RUN}.pt").read_bytes()
    fresh = tmp_path / "fresh" / "checkpoints"
    fresh.mkdir(parents=True)
    spy = Spy(fresh)
    trainer, model = _trainer(fresh, seed=7, loop=spy)
    trainer.fit()
    assert trainer.loaded_complete and spy.seen is None
    assert f"Downloaded {RUN}.pt" in capsys.readouterr().out
    for downloaded, original in zip(model.parameters(), made.weights):
        assert torch.equal(downloaded, original)
