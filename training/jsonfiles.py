"""The JSON files the app writes and reads back: one atomic writer, one schema-version check.

Every JSON file under ``training/`` is written by :func:`write_json` (and other text files
that must never be left half-written, the label and prediction CSVs, by
:func:`atomic_write`): a temporary file in the same folder, flushed to the disk, then
renamed over the target, so a crash, a kill or a full disk leaves the old file or the new
one, never half of one. Every loader of a versioned spec calls :func:`check_schema`, so a
file from a newer version of the app is refused with the same clear message, naming the
file, instead of being guessed at.

The bottom layer (no imports from the rest of ``training``), so ``data/`` and ``models/``
use it too.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets


@contextlib.contextmanager
def atomic_write(path, *, encoding: str = "utf-8", newline: str | None = None):
    """Open a text file to write that replaces ``path`` only once it is complete.

    Yields a file object on a new temporary file beside ``path`` (``os.replace`` must not
    cross file systems) with a random name, ``.<name>.<random>.tmp``: hidden from folder
    scans, ignored by the run watcher and the distributed worker (``.tmp``), and created
    with ``O_EXCL``, which never follows a link, so a link planted under a predictable
    name is never written through. Its permissions are the usual ones (0666 less the
    umask: a run folder on shared storage stays readable, unlike ``mkstemp``'s 0600).
    When the block ends normally the file is flushed, ``fsync``-ed and renamed over
    ``path``; when it raises, the temporary file is removed and ``path`` is left as it was.

    Args:
        path: the file to write (``str`` or ``os.PathLike``); its folder must exist.
        encoding: the text encoding (``"utf-8-sig"`` for CSVs spreadsheets open).
        newline: as for :func:`open` (``""`` for the ``csv`` module).
    """
    path = os.fspath(path)
    fd, tmp = _exclusive_temp(path)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _exclusive_temp(path: str) -> tuple[int, str]:
    folder, name = os.path.split(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file beside {path}")


def write_json(path, data, *, indent: int | None = 1, default=None) -> None:
    """Write ``data`` as UTF-8 JSON to ``path`` atomically (see :func:`atomic_write`).

    Args:
        path: the file to write; its folder must exist.
        data: plain JSON data. NaN and infinities are refused (``ValueError``): they are
            not JSON, and other readers choke on them.
        indent: as for :func:`json.dump` (None: one compact line).
        default: as for :func:`json.dump` (turns other values into JSON ones).
    """
    with atomic_write(path) as f:
        json.dump(data, f, indent=indent, ensure_ascii=False, allow_nan=False, default=default)


def check_schema(data: dict, kind: str, supported: int, *, where=None,
                 error: type[Exception] = ValueError, required: bool = True) -> int:
    """The ``schema_version`` of a versioned JSON object, refusing a newer or invalid one.

    Args:
        data: the JSON object read (a ``dict``).
        kind: what it holds, in words (``"model spec"``, ``"run record"``).
        supported: the newest version this build reads.
        where: the file it was read from; the message names it (None: "This <kind>").
        error: the exception to raise: the caller's own (``RunError``, ``SpecError``…).
        required: False lets a missing version mean ``supported`` (records written before
            they carried one).

    Returns:
        The version (an int from 1 to ``supported``).

    Raises:
        error: the version is missing (when required) or not a positive integer, or it is
            newer than ``supported`` ("… was made by a newer version of the app").
    """
    version = data.get("schema_version", None if required else supported)
    what = f"{os.fspath(where)} ({kind})" if where is not None else f"This {kind}"
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise error(f"{what} has no valid schema_version (a positive integer). "
                    f"Received: schema_version={version!r}")
    if version > supported:
        raise error(f"{what} was made by a newer version of the app (schema_version {version}; "
                    f"this version reads up to {supported}). Update the app to open it.")
    return version
