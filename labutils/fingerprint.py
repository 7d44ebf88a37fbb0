"""What trains, as a short name: a fingerprint of the code of a model, its training step and the loop.

A run's checkpoint is stored under its config *and* this fingerprint, so a learner who edits the
loss, the update step or the loop in a notebook and reruns trains the edited code: a checkpoint trained by
other code is never loaded for it. The fingerprint reads the code's tokens (`normal_form`), not its text,
so comments, blank lines, spacing, indentation width and docstrings do not count, and the notebook's copy
of a class names the same run as the package's copy of it. It follows the functions and classes that the
code names (the loss that a step calls, a base class, a helper), in the notebook and in labutils; torch
and the standard library count as fixed. What only watches a training (the GAN's fixed-noise images and
in-training distance, `training.gan_watch`) is called by the engine, never named by a step, so it is no
part of a run's name, as `config._NOT_IDENTIFYING` keeps how training is watched out of it.

A run has the same name under Python 3.11, 3.12 and 3.13, so a checkpoint made on one is found on the
others; `ast.dump`'s text, read before, was not (3.12 added `type_params`, 3.13 leaves empty fields out).
Tokens are the same on the three by construction: tokenize's kinds and strings for code that 3.11 runs did
not change, except that from 3.12 an f-string comes in pieces (FSTRING_START, FSTRING_MIDDLE, FSTRING_END,
its expressions' tokens between), which `_tokens` takes whole, as its source text: the one STRING token
3.11 gives. Which names a function reads as globals comes from its compiled code, whose instructions differ
between versions while the scoping rule that makes a name global does not. Compiled code is no stand-in for
source, though: a function of ours whose source cannot be read is refused (`NoSource`). A class's methods
that are not ours or have no source (a dataclass's `__init__`, 3.13's `__replace__`) are the standard
library's, made from the class's fields, which are described instead.
"""
from __future__ import annotations

import dis
import hashlib
import inspect
import io
import tokenize
import types
from typing import Any

SIMPLE_VALUES = (int, float, str, bool, type(None))


def _is_ours(obj: Any) -> bool:
    """Code of the notebook (__main__) or of labutils: followed. Anything else is a fixed library."""
    module = getattr(obj, "__module__", None) or ""
    return module == "__main__" or module == "labutils" or module.startswith("labutils.")


class NoSource(ValueError):
    """A function of ours whose source cannot be read: no run can be named after it on every Python."""


_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRING_STARTS = {getattr(tokenize, kind) for kind in ("FSTRING_START", "TSTRING_START") if hasattr(tokenize, kind)}
_STRING_ENDS = {getattr(tokenize, kind) for kind in ("FSTRING_END", "TSTRING_END") if hasattr(tokenize, kind)}


def _tokens(source: str):
    """(kind, string) of each token that counts; an f-string as one STRING of its source text, as 3.11 gives it."""
    lines = io.StringIO(source).readlines()  # split as tokenize splits: at "\n" only
    nested, opened = 0, (0, 0)
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in _STRING_STARTS:
            nested, opened = nested + 1, opened if nested else token.start
        elif token.type in _STRING_ENDS:
            nested -= 1
            if not nested:
                (row, col), (end_row, end_col) = opened, token.end
                text = "".join(lines[row - 1:end_row])
                yield tokenize.STRING, text[col:len(text) - len(lines[end_row - 1]) + end_col]
        elif not nested and token.type not in _SKIPPED:
            yield token.type, token.string


def _is_a_string_literal(statement: list[tuple[int, str]]) -> bool:
    """A statement of string literals only (a docstring): it does nothing. An f-string computes, so it counts."""
    return all(kind == tokenize.STRING and not {"f", "t"} & set(string[:string.index(string[-1])].lower())
               for kind, string in statement)


def normal_form(source: str) -> str:
    """`source` as its tokens, one statement a line, indented one space a level from its first line.

    Comments, blank lines, spacing, line breaks inside brackets and docstrings (any statement that is
    only a string literal) leave it unchanged, and so does indenting the whole source (a method as a
    class holds it, or the same function at the top of a cell)."""
    lines, statement, depth = [], [], 0
    for kind, string in _tokens(source):
        if kind == tokenize.INDENT or kind == tokenize.DEDENT:
            depth += 1 if kind == tokenize.INDENT else -1
        elif kind == tokenize.NEWLINE:
            if statement and not _is_a_string_literal(statement):
                lines.append((depth, " ".join(string for _, string in statement)))
            statement = []
        else:
            statement.append((kind, string))
    first = lines[0][0] if lines else 0
    return "\n".join(" " * (depth - first) + text for depth, text in lines)


def _source(function: types.FunctionType) -> str | None:
    try:
        return inspect.getsource(function)
    except (OSError, TypeError):  # defined by exec or eval of a string, as a dataclass's methods are
        return None


def _function_text(function: types.FunctionType) -> str:
    """The function's normal form. Refused where no source can be read: its compiled code differs between
    Pythons, so a name made from it would be found on no other version."""
    source, name = _source(function), f"{function.__module__}.{function.__qualname__}"
    if source is None:
        raise NoSource(f"{name}: its source cannot be read, so no run can be named after it. "
                       "Define it in a notebook cell or a module file, not by exec or eval.")
    try:
        return normal_form(source)
    except (tokenize.TokenError, SyntaxError) as error:  # a lambda's lines cut out of a longer statement
        raise NoSource(f"{name}: its source cannot be read as a whole ({error}).") from error


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
        fields = list(inspect.get_annotations(obj))  # a dataclass's fields: what its written methods are made from
        if fields:
            pieces.append(f"fields {', '.join(fields)}")
        for name, value in sorted(vars(obj).items()):
            value = _unwrap(value)
            if isinstance(value, types.FunctionType) and _is_ours(value) and _source(value) is not None:
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
    function = inspect.unwrap(function)  # under `@torch.no_grad()`: its names and defaults, not torch's wrapper's
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
