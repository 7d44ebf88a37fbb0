"""labtools: the commands behind `make`, beside the package the notebooks import.

    pipeline         make run-all / make test: the notebooks under papermill, and the run's record
    progress         what a headless run shows: expected times, then section, epoch, time left
    report, results  make report (outputs/report.html) / make readme (the README's and docs/' results)
    book             make book: the last run's notebooks as a static site (outputs/book/)
    bench            make bench: the lab's training against the usual way of writing it; with
    bench_machine,   the machine around it (a busy machine, the hardware's peak, bf16),
    bench_explore,   each explorer's response time, and what bench and bench_machine both build
    bench_common     (the lab's GAN step and loader)
    notebook_export  make export: the notebooks' #@save cells into labutils; --check
    notebook_setup   the notebooks' badges and setup cell, and make fork
    data             make data: acquire and verify every data set

No notebook imports labtools, and no labutils module does (tests/test_layers.py): it is not part of
the installed package (pyproject.toml installs labutils only), so Colab's and Kaggle's setup cell
never sees it. It runs from the repository's root, `python -m labtools.X`, as the Makefile does;
a subprocess it starts finds it through `subprocess_env()`, whatever its working directory.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout labtools lives in


def subprocess_env(**extra: str) -> dict[str, str]:
    """os.environ plus `extra`, with the checkout first on PYTHONPATH: labtools is not installed,
    so a `python -m labtools.X` subprocess finds it there from any working directory."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, **extra, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
