"""What trains, as a short name: a fingerprint of the code of a model, its training step and the loop.

A run's checkpoint is stored under its config *and* this fingerprint, so a learner who edits the
loss, the update step or the loop in a notebook and reruns trains the edited code: a checkpoint trained by
other code is never loaded for it. The fingerprint reads the code's syntax tree, not its text, so
comments, blank lines and docstrings do not count, and the notebook's copy of a class names the
same run as the package's copy of it. It follows the functions and classes that the code names
(the loss that a step calls, a base class, a helper), in the notebook and in labutils; torch and
the standard library count as fixed. What only watches a training (the GAN's fixed-noise images and
in-training distance, `training.gan_watch`) is called by the engine, never named by a step, so it is
no part of a run's name, as `config._NOT_IDENTIFYING` keeps how training is watched out of it.
"""
from __future__ import annotations

import ast
import dis
import hashlib
import inspect
import textwrap
import types
from typing import Any

SIMPLE_VALUES = (int, float, str, bool, type(None))


def _is_ours(obj: Any) -> bool:
    """Code of the notebook (__main__) or of labutils: followed. Anything else is a fixed library."""
    module = getattr(obj, "__module__", None) or ""
    return module == "__main__" or module == "labutils" or module.startswith("labutils.")


def _without_docstrings(tree: ast.AST) -> ast.AST:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _function_text(function: types.FunctionType) -> str:
    """The function's syntax tree as text; its compiled code where no source can be read."""
    try:
        tree = _without_docstrings(ast.parse(textwrap.dedent(inspect.getsource(function))))
        return ast.dump(tree, annotate_fields=False, include_attributes=False)
    except (OSError, TypeError, SyntaxError):
        code = function.__code__
        return repr((code.co_code, code.co_names, code.co_varnames))


def _unwrap(value: Any) -> Any:
    if isinstance(value, (staticmethod, classmethod)):
        return value.__func__
    if isinstance(value, property):
        return value.fget
    return value


def _describe(obj: Any, parts: dict[str, str]) -> None:
    """Add `obj` (a function or class of ours) and everything of ours it names to `parts`."""
    key = getattr(obj, "__qualname__", repr(obj))
    if key in parts:
        return
    parts[key] = ""  # marks it visited before following names (recursion, mutual references)
    if isinstance(obj, type):
        pieces = [f"class {obj.__name__}({', '.join(base.__qualname__ for base in obj.__bases__)})"]
        for base in obj.__bases__:
            if _is_ours(base):
                _describe(base, parts)
        for name, value in sorted(vars(obj).items()):
            value = _unwrap(value)
            if isinstance(value, types.FunctionType):
                pieces.append(f"{name}: {_describe_function(value, parts)}")
            elif isinstance(value, SIMPLE_VALUES) and not name.startswith("__"):
                pieces.append(f"{name} = {value!r}")
        parts[key] = "\n".join(pieces)
    else:
        parts[key] = _describe_function(obj, parts)


def _global_names(code: types.CodeType) -> set[str]:
    """The globals a function's code reads (nested functions and comprehensions included), not its locals."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names |= _global_names(constant)
    return names


def _describe_function(function: types.FunctionType, parts: dict[str, str]) -> str:
    text = _function_text(function)
    names = _global_names(function.__code__)
    constants = []
    for name in sorted(names):
        value = function.__globals__.get(name)
        if isinstance(value, SIMPLE_VALUES) and name in function.__globals__:
            constants.append(f"{name} = {value!r}")
        elif isinstance(value, (types.FunctionType, type)) and _is_ours(value):
            _describe(value, parts)
    defaults = repr(function.__defaults__) if function.__defaults__ else ""
    return "\n".join([text, defaults, *constants])


def code_fingerprint(*objects: Any) -> str:
    """A short hash of the code of `objects` (classes, functions) and of ours that they name."""
    parts: dict[str, str] = {}
    for obj in objects:
        _describe(obj, parts)
    text = "\n\n".join(f"{key}\n{value}" for key, value in sorted(parts.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:8]
