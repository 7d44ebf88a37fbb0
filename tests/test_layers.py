"""The two sides of the repository and their layers. `labutils` is what the notebooks import, built in
layers: a module imports only from its own layer or the layers below it. `labtools` (the commands
behind `make`) is the layer above everything: it imports labutils, labutils never imports it, and
its own modules import one another without a circle. Every module of either side keeps to one
concern's size, and `lab.X` names resolve for editors as they do at run time."""
import ast
from pathlib import Path

import pytest

import labutils

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "labutils"
TOOLS = ROOT / "labtools"
# labutils, bottom to top; the same order as labutils/__init__.py's docstring.
LAYERS = [
    {"runtime"},
    {"config", "fingerprint"},
    {"data"},
    {"models"},
    {"metrics"},
    {"training"},
    {"plots"},
    {"explore", "summaries"},
    {"profiles", "estimates"},  # estimates: what a notebook's runs will take, from its plan and the profiles
]
MAX_MODULE_LINES = 420  # "about 400": one concern per file


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    top = module.split(".")[1]
    return next(i for i, names in enumerate(LAYERS) if top in names)


def imports_of(source: str, module: str, package: str = "labutils") -> set[str]:
    """Every `package.*` module that `source` imports, at the top or inside a function. `from package
    import name` counts as `package.name` where that is a module, else as `package` itself."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == package:  # from labutils import runtime
                for alias in node.names:
                    name = f"{package}.{alias.name}"
                    is_module = (ROOT / package / f"{alias.name}.py").exists() or (ROOT / package / alias.name).is_dir()
                    found.add(name if is_module else package)
            elif node.module.startswith(f"{package}."):
                found.add(node.module)
    return {name for name in found if name != module}


def upward_imports() -> list[str]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = _module_name(path)
        if module == "labutils":  # the facade that names everything, lazily
            continue
        for target in sorted(imports_of(path.read_text(), module) - {"labutils"}):
            if _layer(target) > _layer(module):
                edges.append(f"{module} -> {target}")
    return edges


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each circle of `graph` (module -> the modules it imports) found by a depth-first walk, as the
    path that closes it; [] when there is none."""
    circles, done = [], set()

    def walk(node: str, path: list[str]) -> None:
        if node in path:
            circles.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            walk(target, path + [node])
        done.add(node)

    for node in sorted(graph):
        walk(node, [])
    return circles


def tools_graph() -> dict[str, set[str]]:
    return {_module_name(path): imports_of(path.read_text(), _module_name(path), "labtools")
            for path in sorted(TOOLS.glob("*.py"))}


def test_no_module_imports_from_a_layer_above_it():
    assert upward_imports() == []


def test_the_layer_check_sees_an_upward_import_also_inside_a_function():
    source = "def f():\n    from labutils.training.engine import Trainer\n"
    targets = imports_of(source, "labutils.models.classifier")
    assert targets == {"labutils.training.engine"}
    assert _layer("labutils.training.engine") > _layer("labutils.models.classifier")


def test_every_package_folder_and_top_level_module_has_a_layer():
    tops = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert tops == set().union(*LAYERS)


def test_labutils_never_imports_labtools():
    """What a notebook imports must not need the commands: labtools is not installed on Colab."""
    found = [f"{_module_name(path)} -> {', '.join(sorted(targets))}" for path in sorted(PACKAGE.rglob("*.py"))
             if (targets := imports_of(path.read_text(), _module_name(path), "labtools"))]
    assert found == []


def test_the_labtools_check_sees_an_import_inside_a_function():
    source = "def f():\n    from labtools import pipeline\n    import labtools.bench\n"
    assert imports_of(source, "labutils.plots", "labtools") == {"labtools.pipeline", "labtools.bench"}


def test_labtools_modules_import_one_another_without_a_circle():
    graph = tools_graph()
    assert {"labtools.bench", "labtools.bench_machine", "labtools.bench_common"} <= set(graph)
    assert "labtools.bench_machine" in graph["labtools.bench"]  # bench runs the machine's measurements
    assert import_circles(graph) == []


def test_the_circle_check_finds_a_circle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_circles(graph) == [["a", "b", "c", "a"]]
    assert import_circles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []


@pytest.mark.parametrize("path", sorted([*PACKAGE.rglob("*.py"), *TOOLS.rglob("*.py")]), ids=_module_name)
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
