"""Notebook parameters: declared once, typed, and checked after papermill injects its values.

A notebook declares its parameters in the cell tagged ``parameters`` as annotated assignments,
``tau_max: float = 0.2  # help``. papermill places the values it is given in a new cell right after
it, and would silently accept a misspelt name. Only markdown comes before the parameters cell, so when the
first cell after it calls ``check_parameters(globals())`` the notebook's namespace holds the declared
parameters, the names IPython keeps for itself, what that cell imported and nothing else but what papermill
injected. It

* rejects any other name in the namespace, i.e. an injected parameter the notebook does not declare (naming it
  and listing the declared ones),
* rejects values of the wrong type (an int is accepted for a float) and values the notebooks cannot use
  (``VALUE_CHECKS``: an unknown profile, scale or method, a bad seed list),
* returns the parameters as a dict.

``dystress run`` applies the same ``check_values`` to its ``-p`` values before any kernel starts, from the
types papermill reads off each notebook's parameters cell (``annotation``).
"""

from __future__ import annotations

import types

from dystress.checks import matches, one_of
from dystress.engine.config import PROFILES


def _undeclared(namespace: dict, declared: dict) -> list[str]:
    """The names of ``namespace`` that hold a value papermill could have injected (not a module, class or
    function: what the cell imports) and are neither declared parameters, nor private (``_``), nor IPython's own
    (its shell's ``user_ns_hidden``)."""
    shell = namespace.get("get_ipython")
    hidden = set(getattr(shell(), "user_ns_hidden", ())) if callable(shell) else set()
    return [name for name, value in namespace.items() if not name.startswith("_") and name not in declared
            and name not in hidden and name not in ("In", "Out", "get_ipython", "exit", "quit") and not callable(value)
            and not isinstance(value, types.ModuleType)]


def check_parameters(namespace: dict) -> dict:
    """Validate a notebook's parameters (see module docstring); returns {name: value}.

    ``namespace`` is the notebook's ``globals()``: declared parameters come from its ``__annotations__``.
    """
    declared = dict(namespace.get("__annotations__", {}))
    if not declared:
        raise ValueError("no parameters declared: the parameters cell must use annotated assignments "
                         "(name: type = value)")
    unknown = _undeclared(namespace, declared)
    if unknown:
        raise ValueError(f"unknown notebook parameter{'s' if len(unknown) > 1 else ''} "
                         f"{', '.join(repr(u) for u in unknown)}; this notebook declares: {', '.join(declared)}")
    values = {name: namespace[name] for name in declared}
    check_values(values, declared)
    return values


def _check_profiles(name: str, profiles: list[str]) -> None:
    for profile in profiles:
        one_of(f"notebook parameter {name!r}", profile, tuple(PROFILES))


def _check_seed_list(name: str, seeds: list[int]) -> None:
    from dystress.pipeline.studies import check_seeds

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
    "profiles": lambda value: _check_profiles("profiles", value),
    "scales": lambda value: _check_profiles("scales", value),
    "methods": _check_methods,
    "seeds": lambda value: _check_seed_list("seeds", value),
    "grid_seeds": lambda value: _check_seed_list("grid_seeds", value),
    "sweep_seeds": lambda value: _check_seed_list("sweep_seeds", value),
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
