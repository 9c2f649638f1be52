"""Files written whole or not at all: into a temporary name beside the target, then renamed over it.

    with replacing(path) as tmp:        # any writer: torch.save(state, tmp), np.savez(tmp, ...)
        ...
    write_text(path, text)              # the common case

A reader never sees a half-written file, and an interrupted writer leaves the previous file intact.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: str | Path, unique: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds, delete it if not.

    The temporary name keeps the suffix (``.bundle.tmp.npz``), so writers that append a missing suffix
    (``np.savez``) or choose a format from it (``savefig``) write where they are told. It is the same for
    every write of ``path``, so the leftover of a killed writer is overwritten by the next one;
    ``unique=True`` adds the process id, for files that several processes may write at once.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}{f'.{os.getpid()}' if unique else ''}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Replace ``path`` by ``text`` atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text)
