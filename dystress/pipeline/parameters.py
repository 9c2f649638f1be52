"""Notebook parameters: declared once, typed, and checked after papermill injects its values.

A notebook declares its parameters in the cell tagged ``parameters`` as annotated assignments,
``tau_max: float = 0.2  # help``. papermill places the values it is given in a new cell right after
it, starting with the comment ``# Parameters``, and would silently accept a misspelt name. The first
cell after the parameters calls ``check_parameters(globals())``, which

* rejects any injected name the notebook does not declare (naming it and listing the declared ones),
* rejects values of the wrong type (an int is accepted for a float) and values the notebooks cannot use
  (``VALUE_CHECKS``: an unknown profile, scale or method, a bad seed list),
* returns the parameters as a dict.

``dystress run`` applies the same ``check_values`` to its ``-p`` values before any kernel starts, from the
types papermill reads off each notebook's parameters cell (``annotation``).
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
    values = {name: namespace[name] for name in declared}
    check_values(values, declared)
    return values


def _check_scales(scales: list[str]) -> None:
    for scale in scales:
        one_of("notebook parameter 'scales'", scale, tuple(PROFILES))


def _check_seed_list(name: str, seeds: list[int]) -> None:
    from dystress.pipeline.recipes import check_seeds

    if seeds:
        try:
            check_seeds(seeds)
        except ValueError as error:
            raise ValueError(f"notebook parameter {name!r}: {error}") from None


def _check_methods(methods: list[str]) -> None:
    from dystress.pipeline.recipes import check_methods

    try:
        check_methods(methods)
    except ValueError as error:
        raise ValueError(f"notebook parameter 'methods': {error}") from None


# what a parameter of this name may hold, in any notebook that declares it, beyond its type
VALUE_CHECKS = {
    "profile": lambda value: one_of("notebook parameter 'profile'", value, tuple(PROFILES)),
    "scales": _check_scales,
    "methods": _check_methods,
    "seeds": lambda value: _check_seed_list("seeds", value),
    "grid_seeds": lambda value: _check_seed_list("grid_seeds", value),
}


def check_values(values: dict, declared: dict) -> None:
    """Each of ``values`` ({name: value}) against its annotation in ``declared`` ({name: type}) and the checks
    of ``VALUE_CHECKS``; the first failure is a ValueError naming the parameter, the allowed and the given."""
    for name, value in values.items():
        matches(f"notebook parameter {name!r}", value, declared[name])
        if name in VALUE_CHECKS:
            VALUE_CHECKS[name](value)


_ANNOTATION_NAMES = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict,
                     "None": type(None)}


def annotation(type_name: str) -> object:
    """The annotation papermill reports for a parameter (``inferred_type_name``, e.g. "list[int]") as a type."""
    try:
        return eval(type_name, {"__builtins__": {}}, _ANNOTATION_NAMES)  # names of builtin types only
    except Exception:
        raise ValueError(f"unsupported parameter annotation {type_name!r}") from None
