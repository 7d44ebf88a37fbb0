"""One source for the code a notebook teaches: its `#@save` cells, copied verbatim into the package.

A notebook cell whose first line is `#@save labutils.models.autoencoder` is part of that module
(the d2l book's `#@save`, with the module named). In the module, the saved cells of one notebook
sit between two marker lines:

    # ---- #@save cells of notebooks/01_autoencoder.ipynb: edit them there, then `make export` ----
    ...
    # ---- end of notebooks/01_autoencoder.ipynb ----

    python -m labtools.notebook_export           # what `make export` runs: the notebooks -> the package
    python -m labtools.notebook_export --check   # exit 1 and name every place they differ

tests/test_notebook_export.py runs the check, so the notebooks and the package cannot drift apart.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

SAVE_MARK = "#@save"
BEGIN = "# ---- #@save cells of {notebook}: edit them there, then `make export` ----"
END = "# ---- end of {notebook} ----"


def _marker_pattern(marker: str, notebook_group: str) -> str:
    return re.escape(marker).replace(re.escape("{notebook}"), notebook_group)


BLOCK = re.compile("^" + _marker_pattern(BEGIN, r"(?P<notebook>\S+)") + r"\n(?P<body>.*?)^"
                   + _marker_pattern(END, r"(?P=notebook)") + "$", re.M | re.S)


@dataclass(frozen=True)
class Difference:
    module: str
    notebook: str
    problem: str

    def __str__(self) -> str:
        return f"{self.module}: {self.notebook}: {self.problem}"


def saved_cells(notebook: Path) -> dict[str, list[str]]:
    """{module: [cell bodies]} of a notebook's `#@save` cells, in notebook order (marker line dropped)."""
    cells: dict[str, list[str]] = {}
    for cell in json.loads(notebook.read_text())["cells"]:
        source = "".join(cell["source"])
        first, _, body = source.partition("\n")
        if cell["cell_type"] == "code" and first.startswith(SAVE_MARK):
            module = first[len(SAVE_MARK):].strip()
            if not re.fullmatch(r"labutils(\.\w+)+", module):
                raise ValueError(f"{notebook.name}: '{first}' must name a module, e.g. '#@save labutils.models.gan'.")
            cells.setdefault(module, []).append(body.strip("\n"))
    return cells


def module_path(root: Path, module: str) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def expected_blocks(root: Path) -> dict[str, dict[str, str]]:
    """{module: {notebook path: the block's text}} that the notebooks ask for."""
    blocks: dict[str, dict[str, str]] = {}
    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        for module, bodies in saved_cells(notebook).items():
            blocks.setdefault(module, {})[f"notebooks/{notebook.name}"] = "\n\n\n".join(bodies) + "\n"
    return blocks


def present_blocks(path: Path) -> dict[str, str]:
    """{notebook path: block text} of the marked blocks in one module file."""
    return {m["notebook"]: m["body"] for m in BLOCK.finditer(path.read_text())}


def differences(root: Path) -> list[Difference]:
    """Every place where the package does not hold exactly the notebooks' saved cells."""
    found = []
    wanted = expected_blocks(root)
    for module, by_notebook in sorted(wanted.items()):
        path = module_path(root, module)
        if not path.exists():
            found += [Difference(module, nb, "the module does not exist") for nb in by_notebook]
            continue
        present = present_blocks(path)
        for notebook, text in by_notebook.items():
            if notebook not in present:
                found.append(Difference(module, notebook, "no marked block for it: add its two marker lines "
                                                          f"({BEGIN.format(notebook=notebook)!r} ...), then `make export`"))
            elif present[notebook] != text:
                found.append(Difference(module, notebook, "the package's copy differs from the notebook's #@save "
                                                          "cells: `make export` copies the notebook's into the package"))
    for path in sorted((root / "labutils").rglob("*.py")):
        module = ".".join(path.relative_to(root).with_suffix("").parts)
        for notebook in present_blocks(path):
            if notebook not in wanted.get(module, {}):
                found.append(Difference(module, notebook, "a marked block that no #@save cell of that notebook names"))
    return found


def export(root: Path) -> list[str]:
    """Write every notebook's saved cells into their modules' marked blocks; returns the modules changed."""
    changed = []
    for module, by_notebook in expected_blocks(root).items():
        path = module_path(root, module)
        text = path.read_text()
        for notebook, body in by_notebook.items():
            begin, end = BEGIN.format(notebook=notebook), END.format(notebook=notebook)
            if begin not in text:
                raise ValueError(f"{path}: add the lines {begin!r} and {end!r} where {notebook}'s cells belong.")
            head, _, rest = text.partition(begin + "\n")
            _, _, tail = rest.partition(end)
            text = head + begin + "\n" + body + end + tail
        if text != path.read_text():
            path.write_text(text)
            changed.append(module)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report differences (exit 1 if any)")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    if args.check:
        found = differences(args.root)
        for difference in found:
            print(difference, file=sys.stderr)
        print("the notebooks' #@save cells and the package agree" if not found else f"{len(found)} difference(s)")
        return 1 if found else 0
    changed = export(args.root)
    print("\n".join(f"wrote {m}" for m in changed) or "nothing to write: the package already holds the notebooks' cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
