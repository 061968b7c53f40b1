"""Files in folders that others may write: read as data, never instructions, and written
without following what someone planted there (issue 25).

A dataset's ``.workbench/`` folder travels with the dataset (zip files, shared drives), and
run folders are followed from shared storage: whoever shared them wrote those files. Keras'
``safe_mode`` is the model for what this module does for JSON: a file may carry data, never
actions. Everything the app reads from such a folder goes through here:

- :func:`read_json` reads one JSON file with limits: a regular file only (opening a FIFO
  or a device would block or never end), at most ``max_bytes`` (checked on the open file,
  so a file that grows while it is read is refused too), no symbolic link that leaves the
  folder it must stay in, strict JSON (``NaN`` and ``Infinity`` are refused: this app never
  writes them), and nesting Python's parser can take. Every refusal is an
  :class:`UntrustedFileError` that names the file and the reason.
- :func:`inside` says whether a path, symbolic links followed, stays inside a folder, the
  check every path read from such a file passes before it is used (PEP 706's tar filter
  asks the same of every extracted name).
- :func:`write_json` (and :func:`atomic_write` for other text files: the label and
  prediction CSVs) is the one way the app writes a file: a temporary file with a fresh
  random name, created exclusively (a planted ``labels.json.tmp`` link to a file elsewhere
  is never written through), flushed to the disk, then renamed over the target, so a
  crash, a kill or a full disk leaves the old file or the new one, never half of one.
- :func:`copy_new` copies a file the same way (fresh temporary file, flushed, then linked
  to a name that must not exist yet): a sort's copies are never half written or overwriting.
- :func:`check_schema` is the one schema-version check of every versioned JSON file: a file
  from a newer version of the app is refused with the same message, naming the file.

No TensorFlow, no Qt, no other part of the app: the lowest layer.
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat

MiB = 1024 * 1024


class UntrustedFileError(ValueError):
    """A file from a shared folder was refused; the message names the file and why.

    Attributes:
        missing: True when the file does not exist (callers often treat that as "none").
    """

    def __init__(self, message: str, missing: bool = False):
        super().__init__(message)
        self.missing = missing


def inside(root, path) -> bool:
    """True when ``path`` resolves (symbolic links followed) to ``root`` or below it.

    A link loop resolves to a path that the next file operation refuses (ELOOP), so it
    needs no special case here; paths on another drive are outside.
    """
    root_r = os.path.normcase(os.path.realpath(os.fspath(root)))
    path_r = os.path.normcase(os.path.realpath(os.fspath(path)))
    try:
        return os.path.commonpath([root_r, path_r]) == root_r
    except ValueError:  # different drives (Windows)
        return False


def lexically_inside(relative: str) -> bool:
    """True when a relative name (``"a/b.png"``) cannot leave the folder it is joined to:
    not absolute, no drive, and no ``..`` that climbs above the start."""
    name = str(relative).replace("\\", "/")
    if not name or name.startswith("/") or os.path.isabs(name) or os.path.splitdrive(name)[0]:
        return False
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return False
        elif part not in ("", "."):
            depth += 1
    return True


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number JSON allows")


def read_bytes(path, max_bytes: int, within=None) -> bytes:
    """The bytes of one regular file, refused when larger than ``max_bytes``, not a
    regular file, or (``within`` given) a link that leaves ``within``.

    Raises:
        UntrustedFileError: see above (``missing`` set when the file does not exist).
    """
    path = os.fspath(path)
    if within is not None and os.path.lexists(path) and not inside(within, path):
        raise UntrustedFileError(f"{path} is a link to {os.path.realpath(path)}, outside "
                                 f"{within}; refused (a shared folder's files must stay inside it).")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UntrustedFileError(f"{path} is missing", missing=True) from None
    except OSError as exc:
        raise UntrustedFileError(f"Could not read {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UntrustedFileError(f"{path} is not a regular file (a folder, pipe or device); "
                                     "refused.")
        if st.st_size > max_bytes:
            raise UntrustedFileError(f"{path} is {st.st_size / MiB:.1f} MB; this file may be at "
                                     f"most {max_bytes / MiB:.1f} MB. Refused.")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(max_bytes + 1 - total, 4 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UntrustedFileError(f"{path} grew past {max_bytes / MiB:.1f} MB while it "
                                         "was read; refused.")
    except OSError as exc:
        raise UntrustedFileError(f"Could not read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def parse_json(data: bytes, where: str):
    """Strict JSON from bytes: UTF-8, no NaN/Infinity, no nesting the parser cannot take.

    Raises:
        UntrustedFileError: naming ``where`` and what was wrong.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UntrustedFileError(f"{where} is not UTF-8 text ({exc.reason} at byte "
                                 f"{exc.start}).") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UntrustedFileError(f"{where} is not valid JSON (truncated or corrupted?): "
                                 f"{exc}") from None
    except RecursionError:
        raise UntrustedFileError(f"{where} is nested too deeply to be a file this app "
                                 "wrote; refused.") from None
    except ValueError as exc:  # NaN/Infinity, or an integer with thousands of digits
        raise UntrustedFileError(f"{where}: {exc}; refused.") from None


def read_json(path, max_bytes: int, within=None):
    """One JSON file from a shared folder (see the module docstring for the limits).

    Raises:
        UntrustedFileError: missing (``missing`` set), unreadable, too large, not a
            regular file, a link out of ``within``, not UTF-8, or not strict JSON.
    """
    return parse_json(read_bytes(path, max_bytes, within), os.fspath(path))


@contextlib.contextmanager
def atomic_write(path, *, encoding: str = "utf-8", newline: str | None = None):
    """Open a text file to write that replaces ``path`` only once it is complete.

    Yields a file object on a new temporary file beside ``path`` (``os.replace`` must not
    cross file systems): ``.<name>.<random>.tmp``, hidden from folder scans, ignored by the
    run watcher and the distributed worker (``.tmp``). When the block ends normally the
    file is flushed, ``fsync``-ed and renamed over ``path``; when it raises, the temporary
    file is removed and ``path`` is left as it was.

    Args:
        path: the file to write (``str`` or ``os.PathLike``); its folder must exist.
        encoding: the text encoding (``"utf-8-sig"`` for CSVs spreadsheets open).
        newline: as for :func:`open` (``""`` for the ``csv`` module).
    """
    with _replacing(path) as (fd, _tmp):
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())


@contextlib.contextmanager
def atomic_path(path):
    """Like :func:`atomic_write`, for a file written by name (a memory map filled batch by
    batch, ``np.savez``): yields the temporary file's path beside ``path``; when the block
    ends normally the file is ``fsync``-ed and renamed over ``path``, when it raises it is
    removed and ``path`` is left as it was."""
    with _replacing(path) as (fd, tmp):
        os.close(fd)
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())


@contextlib.contextmanager
def _replacing(path):
    """A new temporary file beside ``path`` (``(fd, its path)``), renamed over ``path`` when
    the block ends normally and removed when it raises: the one commit-or-clean-up of
    :func:`atomic_write` and :func:`atomic_path`."""
    path = os.fspath(path)
    fd, tmp = _exclusive_temp(path)
    try:
        yield fd, tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def write_json(path, data, *, indent: int | None = 1, default=None) -> None:
    """Replace ``path`` with ``data`` as UTF-8 JSON, atomically (:func:`atomic_write`).

    Args:
        path: the file to write; its folder must exist.
        data: plain JSON data. NaN and infinities are refused (``ValueError``), as
            :func:`read_json` refuses them.
        indent: as for :func:`json.dump` (None: one compact line).
        default: as for :func:`json.dump` (turns other values into JSON ones).
    """
    # dumps, not dump: json.dump streams through the pure-Python encoder even without an
    # indent (~10x slower; a 5,000-entry label overlay took 90 ms of the GUI thread).
    # dumps with an indent is pure Python too (3.5x slower than indent=None): big files
    # that only programs read pass indent=None.
    text = json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False, default=default)
    with atomic_write(path) as f:
        f.write(text)


def copy_new(src, dst, chunk: int = 1 * MiB) -> tuple[int, str]:
    """Copy ``src`` to a new file ``dst`` that is never overwritten and never seen half
    written: the bytes go to a fresh temporary file beside ``dst`` (:func:`temp_name`),
    are flushed to the disk, then the file gets its name with ``os.link``, which fails
    when ``dst`` exists (an atomic "create only"; ``os.replace`` would overwrite). Where the
    file system has no hard links (FAT, some network shares) it is renamed after a check,
    a narrow race a sort's journal still covers.

    Returns:
        ``(size, sha256 hex)`` of the bytes copied (the undo checks a copy is ours).

    Raises:
        FileExistsError: ``dst`` exists (nothing was written).
        OSError: reading ``src`` or writing failed (``ENOSPC`` when the disk is full);
            the temporary file is removed.
    """
    import hashlib
    import shutil

    src, dst = os.fspath(src), os.fspath(dst)
    if os.path.lexists(dst):
        raise FileExistsError(17, "File exists", dst)
    digest, size = hashlib.sha256(), 0
    fd, tmp = _exclusive_temp(dst)
    try:
        with open(src, "rb") as fin, os.fdopen(fd, "wb") as fout:
            while True:
                block = fin.read(chunk)
                if not block:
                    break
                digest.update(block)
                fout.write(block)
                size += len(block)
            fout.flush()
            os.fsync(fout.fileno())
        with contextlib.suppress(OSError):
            shutil.copystat(src, tmp)   # the photo's dates, as a file manager's copy keeps them
        try:
            os.link(tmp, dst)
        except FileExistsError:
            raise
        except OSError:   # no hard links here
            if os.path.lexists(dst):
                raise FileExistsError(17, "File exists", dst) from None
            os.rename(tmp, dst)
            return size, digest.hexdigest()
        os.remove(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return size, digest.hexdigest()


def temp_name(path: str) -> str:
    """A fresh temporary name beside ``path``: ``.<name>.<12 hex digits>.tmp`` (hidden from
    folder scans; :func:`is_temp_of` recognises it)."""
    folder, name = os.path.split(os.fspath(path))
    return os.path.join(folder, f".{name}.{secrets.token_hex(6)}.tmp")


def is_temp_of(path: str, candidate: str) -> bool:
    """Whether ``candidate`` is a temporary file :func:`atomic_write` or :func:`copy_new`
    made for ``path`` (one a kill left behind)."""
    folder, name = os.path.split(os.fspath(path))
    cfolder, cname = os.path.split(os.fspath(candidate))
    if os.path.normpath(cfolder) != os.path.normpath(folder):
        return False
    prefix, suffix = f".{name}.", ".tmp"
    middle = cname[len(prefix):-len(suffix)] if cname.startswith(prefix) and cname.endswith(suffix) else ""
    return len(middle) == 12 and all(c in "0123456789abcdef" for c in middle)


def _exclusive_temp(path: str) -> tuple[int, str]:
    """A new file beside ``path`` with a random name, created with ``O_EXCL`` (which never
    follows a link) and the usual permissions (0666 less the umask: a run folder on shared
    storage stays readable by whoever follows it, unlike ``mkstemp``'s 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = temp_name(path)
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"Could not create a temporary file beside {path}")


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
                    f"Received: schema_version={version!r:.40}")
    if version > supported:
        raise error(f"{what} was made by a newer version of the app (schema_version {version}; "
                    f"this version reads up to {supported}). Update the app to open it.")
    return version


def check_archive(path, max_bytes: int) -> None:
    """Refuse a zip archive (an ``.npz``) that would unpack to more than ``max_bytes``,
    before anything is decompressed: a few KB of zip can declare gigabytes of zeros.

    Raises:
        UntrustedFileError: not a readable zip file, or too large once unpacked.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise UntrustedFileError(f"Could not read {path}: {exc}") from None
    if total > max_bytes:
        raise UntrustedFileError(f"{path} would unpack to {total:,} bytes; at most "
                                 f"{max_bytes:,} are expected. Refused.")
