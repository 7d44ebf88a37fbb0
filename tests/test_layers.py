"""The package's layers: a module imports only from its own layer or the layers below it, each
module keeps to one concern's size, and `lab.X` names resolve for editors as they do at run time."""
import ast
from pathlib import Path

import pytest

import labutils

PACKAGE = Path(labutils.__file__).parent
# Bottom to top; the same order as labutils/__init__.py's docstring.
LAYERS = [
    {"runtime"},
    {"config", "fingerprint"},
    {"data"},
    {"models"},
    {"metrics"},
    {"training"},
    {"plots"},
    {"explore", "summaries"},
    {"profiles", "progress", "pipeline", "results", "report", "bench", "bench_machine", "notebook_setup",
     "notebook_export", "bench_explore"},
]
MAX_MODULE_LINES = 420  # "about 400": one concern per file


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    top = module.split(".")[1]
    return next(i for i, names in enumerate(LAYERS) if top in names)


def lab_imports(source: str, module: str) -> set[str]:
    """Every `labutils.*` module that `source` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("labutils.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "labutils":  # from labutils import runtime
                found |= {f"labutils.{alias.name}" for alias in node.names}
            elif node.module.startswith("labutils."):
                found.add(node.module)
    return {name for name in found if name != module}


def upward_imports() -> list[str]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if module == "labutils":  # the facade that names everything, lazily
            continue
        for target in sorted(lab_imports(path.read_text(), module)):
            if _layer(target) > _layer(module):
                edges.append(f"{module} -> {target}")
    return edges


def test_no_module_imports_from_a_layer_above_it():
    assert upward_imports() == []


def test_the_layer_check_sees_an_upward_import_also_inside_a_function():
    source = "def f():\n    from labutils.training.engine import Trainer\n"
    targets = lab_imports(source, "labutils.models.classifier")
    assert targets == {"labutils.training.engine"}
    assert _layer("labutils.training.engine") > _layer("labutils.models.classifier")


def test_every_package_folder_and_top_level_module_has_a_layer():
    tops = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert tops == set().union(*LAYERS)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: _module_name(p))
def test_modules_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines: split it by concern"


def test_lab_names_resolve_and_are_spelled_out_for_editors():
    """`lab.X` is resolved lazily at run time; the TYPE_CHECKING block names the same things for tools."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    block = next(node for node in tree.body if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING")
    for_tools = {alias.asname or alias.name for node in block.body for alias in node.names}
    at_run_time = set(labutils._NAMES) | set(labutils._SUBMODULES)
    assert for_tools == at_run_time == set(labutils.__all__)
    for name in at_run_time:
        assert getattr(labutils, name) is not None
