"""Files written whole or not at all: into a temporary name beside the target, then renamed over it.

    with replacing(path) as tmp:        # any writer: torch.save(state, tmp), np.savez(tmp, ...)
        ...
    write_text(path, text)              # the common case

A reader never sees a half-written file, and an interrupted writer leaves the previous file intact.
Every write has a temporary name of its own, so two writers never write into the same temporary file.

    with exclusive(folder, "run folder"):   # one writer per folder: the operating system's lock on folder/.lock
        ...
"""

from __future__ import annotations

import errno
import os
import platform
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMPORARY_MARK = ".tmp-"
LOCK = ".lock"


class FolderBusy(RuntimeError):
    """Another process holds the folder's lock."""


@contextmanager
def exclusive(folder: str | Path, what: str = "folder", busy: type[Exception] = FolderBusy) -> Iterator[int]:
    """Hold ``folder``'s lock (``folder/.lock``, created with the folder), yielding its file descriptor.

    The lock is the operating system's (``flock``): it ends with the process, so a killed holder leaves no lock,
    and the ``.lock`` file stays (removing it would let two processes lock two different files). A second
    process gets ``busy`` at once, naming the pid written in the file.
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise
        raise busy(f"{what} {folder} is in use by another process (pid {holder}, the holder of {folder / LOCK}); "
                   f"wait for it to finish, or use another folder") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} on {platform.node()}\n".encode(), 0)
        yield fd
    finally:
        os.close(fd)  # closing the descriptor releases the lock


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
