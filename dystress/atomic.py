"""Files written whole or not at all: into a temporary name beside the target, then renamed over it.

    with replacing(path) as tmp:        # any writer: torch.save(state, tmp), np.savez(tmp, ...)
        ...
    write_text(path, text)              # the common case

A reader never sees a half-written file, and an interrupted writer leaves the previous file intact.
Every write has a temporary name of its own, so two writers never write into the same temporary file.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_MARK = ".tmp-"


@contextmanager
def replacing(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds, delete it if not.

    The temporary name, ``.<stem>.tmp-<pid>-<random><suffix>``, is unique to this write and keeps the suffix,
    so writers that append a missing suffix (``np.savez``) or choose a format from it (``savefig``) write
    where they are told. ``remove_leftovers`` deletes those of killed writers.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}{TEMPORARY_MARK}{os.getpid()}-{secrets.token_hex(4)}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text)


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writers left in ``folder``; call it only while no other process
    writes there (under the folder's lock). Returns what was removed."""
    removed = []
    for path in Path(folder).glob(f".*{TEMPORARY_MARK}*"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
