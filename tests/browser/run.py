"""A real-browser test of notebook 02 in JupyterLab: what `make browser-test` runs.

    .venv/bin/python tests/browser/run.py [--notebook PATH]

It writes a copy of notebook 02 with the smoke profile's parameters, but interactive (so the latent
explorer widget is shown), into a temporary folder, serves that folder with JupyterLab on a free
loopback port, and runs `notebook_02.mjs`: headless chromium, driven by playwright-core, runs every
cell, then moves a slider of the explorer and checks that the decoded image changes. Screenshots go
to outputs/browser/. The notebook's checkpoints and figures go to a temporary LAB_OUTPUTS, never over
a real run's outputs/. The exit code is the browser script's.

Needs the system chromium (`apt-get install chromium`) and Node; playwright-core comes from npm
(`npm ci` here on first use). It never downloads a browser build.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = ROOT / "outputs" / "browser"
NOTEBOOK = "02_vae"
KERNEL = {"name": "generative-lab", "display_name": "Python (generative lab)", "language": "python"}
# The test's own JupyterLab settings, so that the user's (theme, windowing, open tabs) never change
# what it sees. Only the news prompt is turned off: its toast would cover part of the screenshots.
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}


def check_tools() -> None:
    """Exit with the fix when chromium or Node is missing; install playwright-core on first use."""
    if not CHROMIUM.exists():
        sys.exit(f"browser-test: no chromium at {CHROMIUM}. Install it with `apt-get install chromium` "
                 "(or point $CHROMIUM at a Chromium binary).")
    if not shutil.which("node") or not shutil.which("npm"):
        sys.exit("browser-test: Node.js is needed (`apt-get install nodejs npm`).")
    if not (HERE / "node_modules" / "playwright-core").exists():
        # playwright-core is the driver only; it never fetches a browser (that is `playwright install`).
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def prepare(source: Path, folder: Path) -> Path:
    """The notebook with the smoke parameters, interactive and without progress bars, not executed,
    as `labtools.pipeline.prepare` writes it for nbval."""
    import papermill as pm

    from labutils.profiles import parameters

    target = folder / f"{NOTEBOOK}.ipynb"
    params = {**parameters("smoke", NOTEBOOK), "interactive": True, "progress": False}
    pm.execute_notebook(str(source), str(target), parameters=params, prepare_only=True, progress_bar=False,
                        kernel_name=KERNEL["name"])
    # Named in the copy too (papermill does not write it): the lab's own kernel, the one `make test`
    # runs the notebooks in, so that JupyterLab starts it without asking.
    notebook = json.loads(target.read_text())
    notebook["metadata"]["kernelspec"] = KERNEL
    target.write_text(json.dumps(notebook, indent=1))
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(server: subprocess.Popen, url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"browser-test: JupyterLab exited at start (code {server.returncode}); see its log above.")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(1)
    sys.exit(f"browser-test: JupyterLab did not answer at {url} within {timeout:.0f} s.")


def stop(server: subprocess.Popen) -> None:
    """SIGTERM lets the server shut its kernels down; SIGKILL only if it hangs."""
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", type=Path, default=ROOT / "notebooks" / f"{NOTEBOOK}.ipynb",
                        help="the notebook to test (default: notebook 02); it is copied, never changed")
    args = parser.parse_args(argv)
    check_tools()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{NOTEBOOK[:2]}_*.png"):  # a failed run must not leave the last run's
        old.unlink()

    with tempfile.TemporaryDirectory(prefix="lab-browser-test-") as tmp:
        tmp = Path(tmp)
        served, settings = tmp / "notebooks", tmp / "lab-settings"
        served.mkdir()
        prepare(args.notebook, served)
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))

        port, token = free_port(), secrets.token_hex(16)
        base_url = f"http://127.0.0.1:{port}"
        # Loopback only; --allow-root for containers, where the lab often runs as root.
        command = [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", "--allow-root",
                   "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                   f"--ServerApp.root_dir={served}", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
        # The kernel inherits this environment: its outputs, and the server's runtime files
        # (connection files, cookie secret), stay in the temporary folder.
        env = {**os.environ, "LAB_OUTPUTS": str(tmp / "outputs"), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
        log = (tmp / "jupyter.log").open("w")
        started = time.perf_counter()
        # A session of its own: Ctrl-C reaches this script only, which then shuts the server down
        # (Jupyter would otherwise stop to ask "Shutdown this Jupyter server?").
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        code = 1
        try:
            wait_until_up(server, f"{base_url}/api/status?token={token}")
            print(f"browser-test: JupyterLab at {base_url}, serving {served}", flush=True)
            code = subprocess.run(["node", str(HERE / "notebook_02.mjs"), base_url, token, str(SCREENSHOTS)],
                                  env={**os.environ, "CHROMIUM": str(CHROMIUM)}).returncode
        except KeyboardInterrupt:  # node and chromium have had the Ctrl-C too
            code = 130
        finally:
            stop(server)
            log.close()
            if code not in (0, 130):  # its warnings and errors: a kernel that died, a failed request
                lines = [line for line in (tmp / "jupyter.log").read_text().splitlines() if not line.startswith("[I ")]
                print("browser-test: JupyterLab's log, less its [I]nfo lines:", *lines[-30:], sep="\n", file=sys.stderr)
    seconds = time.perf_counter() - started
    verdict = {0: "passed", 130: "interrupted"}.get(code, f"FAILED (exit code {code})")
    print(f"browser-test: {verdict} in {seconds:.0f} s; screenshots in {SCREENSHOTS.relative_to(ROOT)}/")
    return code


if __name__ == "__main__":
    sys.exit(main())
