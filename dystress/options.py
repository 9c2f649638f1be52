"""Declared options: dataclass fields that carry their help text, which ``--help`` and the parameter lists read.

    @dataclass(frozen=True)
    class Settings:
        epochs: int = option(200, "training epochs")

    help_of(Settings) == {"epochs": "training epochs"}
"""

from __future__ import annotations

import dataclasses


def option(default: object, help: str):
    """A dataclass field with ``default`` and its ``help`` text (in the field's metadata)."""
    return dataclasses.field(default=default, metadata={"help": help})


def help_of(cls: type) -> dict[str, str]:
    """{field name: help text} of a dataclass declared with ``option`` (fields without help give "")."""
    return {f.name: f.metadata.get("help", "") for f in dataclasses.fields(cls)}
