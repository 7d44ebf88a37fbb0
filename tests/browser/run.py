"""A notebook run in JupyterLab by a real browser; `make browser-test` runs it for notebook 02.

    .venv/bin/python tests/browser/run.py [--notebook 02_vae|NAME|PATH] [--as-is] [--set NAME=VALUE ...]
                                          [--outputs DIR] [--minutes N]

By default it writes a copy of the notebook with the smoke profile's parameters, but interactive (so
02's latent explorer widget is shown), into a temporary folder. With --as-is the copy is the notebook
unchanged, as a learner opens it: profile "auto", interactive, progress bars. --set edits a line of the
parameters cell as a learner types it (`--set num_epochs=5`, `--set 'profile="smoke"'`: the value is
Python source), in either mode. Only the copy's kernel is named, the lab's own.

It serves that folder with JupyterLab on a free loopback port and runs `notebook_run.mjs` (for 02,
`notebook_02.mjs`, which then moves a slider of the explorer and checks that the decoded image changes):
headless chromium, driven by playwright-core, opens the notebook, runs Run > Run All Cells and times
it from there to the last cell done, and reads what the cell after the parameters (the profile and the
values in force) and the estimate cell printed. That summary goes to outputs/browser/<name>.json, with
screenshots beside it; <name> is the notebook's, with "-as-is" and each edit added. The notebook's
checkpoints and figures go to LAB_OUTPUTS: a temporary folder, never a real run's outputs/, or --outputs
DIR, which two runs can share (the second loads what the first trained). The exit code is the browser
script's.

Needs the system chromium (`apt-get install chromium`) and Node; playwright-core comes from npm
(`npm ci` here on first use). It never downloads a browser build.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import tokenize
import urllib.request
from datetime import datetime, timezone
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
# The smoke profile's cells run in under half a minute on a 2-core CPU; the limit allows a busy one.
RUN_MINUTES = float(os.environ.get("BROWSER_TEST_RUN_MINUTES", 15))


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


def set_parameter(source: str, name: str, value: str) -> str:
    """`source` (a parameters cell) with the value of `name = ...` replaced by `value` (Python source), as a
    learner types it over the old one: the spacing and the comment after it kept."""
    compile(value, f"--set {name}", "eval")  # a SyntaxError names the edit
    lines = source.splitlines(keepends=True)
    for number, line in enumerate(lines):
        if re.match(rf"{re.escape(name)}\s*=[^=]", line):
            tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
            equals = next(i for i, token in enumerate(tokens) if token.string == "=")
            old = [t for t in tokens[equals + 1:] if t.type not in (tokenize.COMMENT, tokenize.NEWLINE,
                                                                   tokenize.NL, tokenize.ENDMARKER)]
            lines[number] = line[:old[0].start[1]] + value + line[old[-1].end[1]:]
            return "".join(lines)
    names = [m.group(1) for m in re.finditer(r"^(\w+)\s*=", source, re.MULTILINE)]
    raise ValueError(f"--set {name}: the parameters cell has no such line; its names: {', '.join(names)}")


def parse_edits(edits: list[str]) -> dict[str, str]:
    """`["num_epochs=5", 'profile="smoke"']` -> `{"num_epochs": "5", "profile": '"smoke"'}`."""
    pairs = [edit.split("=", 1) for edit in edits]
    if bad := [edit for edit, pair in zip(edits, pairs) if len(pair) != 2 or not pair[0].strip().isidentifier()]:
        raise ValueError(f"--set takes NAME=VALUE, got {', '.join(bad)}")
    return {name.strip(): value.strip() for name, value in pairs}


def prepare(source: Path, folder: Path, as_is: bool, edits: dict[str, str]) -> dict:
    """Writes the copy of `source` that JupyterLab serves from `folder`, and returns it. As is, or with the
    smoke parameters, interactive and without progress bars (as `labtools.pipeline.prepare` writes it for
    nbval); either way with `edits` typed into the parameters cell, and naming the lab's kernel."""
    target = folder / source.name
    if as_is:
        shutil.copyfile(source, target)
    else:
        import papermill as pm

        from labutils.profiles import parameters

        # An edited name is left out of papermill's injected cell, which would otherwise undo the edit.
        params = {**parameters("smoke", source.stem), "interactive": True, "progress": False}
        pm.execute_notebook(str(source), str(target), parameters={k: v for k, v in params.items() if k not in edits},
                            prepare_only=True, progress_bar=False, kernel_name=KERNEL["name"])
    notebook = json.loads(target.read_text())
    # The lab's own kernel, the one `make test` runs the notebooks in, so that JupyterLab starts it without
    # asking (papermill does not write it in its copy).
    notebook["metadata"]["kernelspec"] = KERNEL
    cell = notebook["cells"][parameters_cell(notebook)]
    source_text = "".join(cell["source"])
    for name, value in edits.items():
        source_text = set_parameter(source_text, name, value)
    cell["source"] = source_text.splitlines(keepends=True)
    target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return notebook


def code_cells(notebook: dict) -> list[int]:
    """The index among all cells of each code cell, in order."""
    return [i for i, cell in enumerate(notebook["cells"]) if cell["cell_type"] == "code"]


def parameters_cell(notebook: dict) -> int:
    return next(i for i in code_cells(notebook) if "parameters" in notebook["cells"][i]["metadata"].get("tags", []))


def cells_to_read(notebook: dict) -> dict[str, int]:
    """Which code cells (their order among code cells: the page shows no ids) print the values in force (the
    first after the parameters and after papermill's injected ones) and the estimate (its id ends in -estimate)."""
    code = [notebook["cells"][i] for i in code_cells(notebook)]
    first = code_cells(notebook).index(parameters_cell(notebook)) + 1
    read = {"in_force": next(i for i in range(first, len(code))
                             if "injected-parameters" not in code[i]["metadata"].get("tags", []))}
    read.update({"estimate": i for i, cell in enumerate(code) if cell.get("id", "").endswith("-estimate")})
    return read


def run_name(stem: str, as_is: bool, edits: dict[str, str]) -> str:
    """The summary's and screenshots' name: "02_vae", "04_gan-as-is", "04_gan-as-is-num_epochs=5"."""
    name = stem + ("-as-is" if as_is else "") + "".join(f"-{n}={v}" for n, v in edits.items())
    return re.sub(r"[^\w.=+-]", "", name)


def git_commit() -> dict:
    """The commit the run's code came from, and whether the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return {"commit": git("rev-parse", "--short", "HEAD"), "uncommitted_changes": bool(git("status", "--porcelain"))}


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


def notebook_path(given: str) -> Path:
    """A notebook's path, or its stem in notebooks/ ("04_gan")."""
    path = Path(given) if given.endswith(".ipynb") else ROOT / "notebooks" / f"{given}.ipynb"
    if not path.exists():
        sys.exit(f"browser-test: no notebook {path}")
    return path.resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default=NOTEBOOK, type=notebook_path,
                        help="a notebook's stem (e.g. 04_gan) or path; default 02_vae. It is copied, never changed")
    parser.add_argument("--as-is", action="store_true",
                        help="copy it unchanged (profile \"auto\"), not with the smoke profile's parameters")
    parser.add_argument("--set", dest="edits", action="append", default=[], metavar="NAME=VALUE",
                        help="type VALUE (Python source) over NAME's value in the parameters cell; repeatable")
    parser.add_argument("--outputs", type=Path, help="LAB_OUTPUTS for the notebook (default: a temporary folder); "
                        "a second run with the same folder loads what the first trained")
    parser.add_argument("--minutes", type=float, default=RUN_MINUTES,
                        help="the most the run may take, from Run All (default $BROWSER_TEST_RUN_MINUTES or 15)")
    args = parser.parse_args(argv)
    try:
        edits = parse_edits(args.edits)
    except ValueError as err:
        parser.error(str(err))
    check_tools()
    name = run_name(args.notebook.stem, args.as_is, edits)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in [*SCREENSHOTS.glob(f"{name}_*.png"), SCREENSHOTS / f"{name}.json"]:  # none left from the last run
        old.unlink(missing_ok=True)

    with tempfile.TemporaryDirectory(prefix="lab-browser-test-") as tmp:
        tmp = Path(tmp)
        served, settings = tmp / "notebooks", tmp / "lab-settings"
        outputs = args.outputs.resolve() if args.outputs else tmp / "outputs"
        served.mkdir()
        outputs.mkdir(parents=True, exist_ok=True)
        try:
            notebook = prepare(args.notebook, served, args.as_is, edits)
        except (ValueError, SyntaxError) as err:
            parser.error(str(err))
        for setting, values in LAB_SETTINGS.items():
            (settings / setting).parent.mkdir(parents=True, exist_ok=True)
            (settings / setting).write_text(json.dumps(values))
        meta = {"notebook": args.notebook.name, "as_is": args.as_is, "edits": edits,
                "outputs": str(args.outputs.resolve()) if args.outputs else "a temporary folder",
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), **git_commit()}

        port, token = free_port(), secrets.token_hex(16)
        base_url = f"http://127.0.0.1:{port}"
        # Loopback only; --allow-root for containers, where the lab often runs as root.
        command = [str(ROOT / ".venv" / "bin" / "jupyter"), "lab", "--no-browser", "--allow-root",
                   "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
                   f"--ServerApp.root_dir={served}", f"--LabApp.user_settings_dir={settings}",
                   f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
        # The kernel inherits this environment: its outputs, and the server's runtime files
        # (connection files, cookie secret), stay in the temporary folder.
        env = {**os.environ, "LAB_OUTPUTS": str(outputs), "JUPYTER_RUNTIME_DIR": str(tmp / "runtime")}
        log = (tmp / "jupyter.log").open("w")
        started = time.perf_counter()
        # A session of its own: Ctrl-C reaches this script only, which then shuts the server down
        # (Jupyter would otherwise stop to ask "Shutdown this Jupyter server?").
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        code = 1
        try:
            wait_until_up(server, f"{base_url}/api/status?token={token}")
            print(f"browser-test: JupyterLab at {base_url}, serving {served}", flush=True)
            spec = {"url": base_url, "token": token, "file": args.notebook.name, "name": name,
                    "shots": str(SCREENSHOTS), "minutes": args.minutes, "codeCells": len(code_cells(notebook)),
                    "read": cells_to_read(notebook), "meta": meta}
            # A notebook with checks of its own after the run has its script (02: the latent explorer).
            script = HERE / f"notebook_{args.notebook.stem[:2]}.mjs"
            script = script if script.exists() else HERE / "notebook_run.mjs"
            code = subprocess.run(["node", str(script), json.dumps(spec)],
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
