"""The built book (`make book`) opened in headless chromium, every page of it; `make book-check` runs it.

    .venv/bin/python tests/browser/book_check.py [--book DIR] [--shots DIR]

Serves the book (default outputs/book/, under $LAB_OUTPUTS when set) on a free loopback port, as GitHub
Pages would serve it, and runs `book_check.mjs`: from index.html it follows every link within the book
and checks each page: it loads, every image is drawn, no output shows a traceback, an error or an undrawn
widget, no script error, no request off the loopback server; and that every page of the book was
reached. Screenshots of each page's top and first figure, and book_check.json, go to outputs/browser/book/.
The exit code is the browser script's. Needs what `make browser-test` needs: the system chromium and
Node (playwright-core from npm, installed here on first use).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from run import CHROMIUM, check_tools  # noqa: E402  (the browser test's set-up, shared)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the browser script reports what failed
        pass


def main(argv: list[str] | None = None) -> int:
    from labutils.runtime import outputs_dir

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--book", type=Path, default=None, help="the built book (default: outputs/book/)")
    parser.add_argument("--shots", type=Path, default=None, help="screenshots and findings (default: outputs/browser/book/)")
    args = parser.parse_args(argv)
    book = (args.book or outputs_dir() / "book").resolve()
    if not (book / "index.html").exists():
        sys.exit(f"book-check: no {book / 'index.html'}: run `make book` first.")
    shots = (args.shots or outputs_dir("browser", "book")).resolve()
    shots.mkdir(parents=True, exist_ok=True)
    for old in [*shots.glob("*.png"), shots / "book_check.json"]:  # none left from the last check
        old.unlink(missing_ok=True)
    check_tools()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(book)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/"
        print(f"book-check: serving {book} at {url}", flush=True)
        spec = {"url": url, "files": sorted(p.name for p in book.glob("*.html")), "shots": str(shots)}
        code = subprocess.run(["node", str(HERE / "book_check.mjs"), json.dumps(spec)],
                              env={**os.environ, "CHROMIUM": str(CHROMIUM)}).returncode
    finally:
        server.shutdown()
        server.server_close()
    print(f"book-check: {'passed' if code == 0 else f'FAILED (exit code {code})'}; screenshots in {shots}/")
    return code


if __name__ == "__main__":
    sys.exit(main())
