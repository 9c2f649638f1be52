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

from dystress.checks import matches, one_of
from dystress.engine.config import PROFILES

_INJECTED_HEADER = "# Parameters"


def _injected_names(history: list[str]) -> list[str]:
    for source in reversed(history):
        if source.lstrip().startswith(_INJECTED_HEADER):
            tree = ast.parse(source)
            return [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)]
    return []


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
        matches(f"notebook parameter {name!r}", namespace[name], expected)
        values[name] = namespace[name]
    if "profile" in values:
        one_of("notebook parameter 'profile'", values["profile"], tuple(PROFILES))
    return values
