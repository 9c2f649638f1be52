"""Notebook parameters: declared once, typed, and checked after papermill injects its values.

A notebook declares its parameters in the cell tagged ``parameters`` as annotated assignments,
``tau_max: float = 0.2  # help``. papermill places the values it is given in a new cell right after
it, starting with the comment ``# Parameters``, and would silently accept a misspelt name. The first
cell after the parameters calls ``check_parameters(globals())``, which

* rejects any injected name the notebook does not declare (naming it and listing the declared ones),
* rejects values of the wrong type (an int is accepted for a float),
* returns the parameters as a dict.
"""

from __future__ import annotations

import ast
import types
import typing

PROFILES = ("smoke", "small", "paper")
_INJECTED_HEADER = "# Parameters"


def _injected_names(history: list[str]) -> list[str]:
    for source in reversed(history):
        if source.lstrip().startswith(_INJECTED_HEADER):
            tree = ast.parse(source)
            return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)]
    return []


def type_ok(value: object, expected: object) -> bool:
    """Whether ``value`` fits the annotation ``expected``: int, float (an int too), bool, str, list[T],
    T | None (either spelling of a union), object; a bool is never an int or a float."""
    origin = typing.get_origin(expected) or expected
    if origin is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, arg) for arg in typing.get_args(expected))
    if expected is type(None):
        return value is None
    if origin is list:
        (item,) = typing.get_args(expected) or (object,)
        return isinstance(value, list) and all(type_ok(v, item) for v in value)
    if expected is object:
        return True
    return isinstance(value, origin)


def type_name(expected: object) -> str:
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")


def check_parameters(namespace: dict) -> dict:
    """Validate a notebook's parameters (see module docstring); returns {name: value}.

    ``namespace`` is the notebook's ``globals()``: declared parameters come from its
    ``__annotations__``, injected ones from the IPython input history ``In``.
    """
    declared = dict(namespace.get("__annotations__", {}))
    if not declared:
        raise ValueError("no parameters declared: the parameters cell must use annotated assignments "
                         "(name: type = value)")
    unknown = [name for name in _injected_names(list(namespace.get("In", []))) if name not in declared]
    if unknown:
        raise ValueError(f"unknown notebook parameter{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(u) for u in unknown)}; this notebook declares: {', '.join(declared)}")
    values = {}
    for name, expected in declared.items():
        value = namespace[name]
        if not type_ok(value, expected):
            raise ValueError(f"notebook parameter {name!r} must be of type {type_name(expected)}, "
                             f"got {value!r} ({type(value).__name__})")
        values[name] = value
    if "profile" in values and values["profile"] not in PROFILES:
        raise ValueError(f"notebook parameter 'profile' must be one of {', '.join(PROFILES)}, "
                         f"got {values['profile']!r}")
    return values
