"""The checks of arguments, each written once: every failure is a ``ValueError`` that names the parameter and
what it may be, raised before any work is done.

    one_of("loss", value, ("ntxent", "dystress"))     one of a fixed set of names
    flag("detach_tau", value)                         True or False (not 0 / 1)
    integer("batch_size", value, minimum=2)           an int (not a bool) within bounds
    number("lr", value, above=0)                      a finite real number (not a bool) within bounds
    matches("config key 'epochs'", value, int)        a value of an annotated type (``type_ok``)
"""

from __future__ import annotations

import math
import types
import typing


def one_of(name: str, value: object, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")


def flag(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def integer(name: str, value: object, minimum: int | None = None, maximum: int | None = None) -> None:
    """An int (a bool is not one) in [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int) or (minimum is not None and value < minimum) \
            or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer{_bounds(minimum, None, None, maximum)}, got {value!r}")


def number(name: str, value: object, at_least: float | None = None, above: float | None = None,
           below: float | None = None, at_most: float | None = None) -> None:
    """A finite real number (an int is one, a bool is not) within the bounds given."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and \
        (at_least is None or value >= at_least) and (above is None or value > above) and \
        (below is None or value < below) and (at_most is None or value <= at_most)
    if not ok:
        raise ValueError(f"{name} must be a finite number{_bounds(at_least, above, below, at_most)}, got {value!r}")


def _bounds(at_least, above, below, at_most) -> str:
    shown = lambda v: f"{v}" if isinstance(v, int) else f"{v:g}"  # noqa: E731
    parts = [f"{sign} {shown(v)}" for sign, v in ((">=", at_least), (">", above), ("<", below), ("<=", at_most))
             if v is not None]
    return " " + " and ".join(parts) if parts else ""


def type_ok(value: object, expected: object) -> bool:
    """Whether ``value`` fits the annotation ``expected``: int, float (an int too), bool, str, list[T],
    T | None (either spelling of a union), a class, object; a bool is never an int or a float."""
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
    """``float``, ``list[int]``, ``int | None``: the annotation as it is written."""
    if typing.get_args(expected):
        return str(expected).replace("typing.", "")
    return getattr(expected, "__name__", None) or str(expected).replace("typing.", "")


def matches(name: str, value: object, expected: object) -> None:
    if not type_ok(value, expected):
        raise ValueError(f"{name} must be of type {type_name(expected)}, got {value!r} ({type(value).__name__})")
