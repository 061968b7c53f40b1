"""Which of a dataset's ``.workbench/`` files this app wrote for this user, and what the user
said about the ones made elsewhere (issue 25).

A dataset travels with its ``.workbench/`` folder (label fixes, folder-move journals), so
those files may come from anyone. This app signs every one it writes with an HMAC-SHA256
keyed by :func:`key`: 32 random bytes in the user's app data folder
(``training.userdirs``), created once, atomically, readable by the user alone (0600).
A file whose signature checks out was written here, by this user; any other (unsigned, a
changed byte, signed on another machine or by another user) was *made elsewhere*:

- a move journal made elsewhere is never offered for undo (``training.data.folder_moves``);
- label fixes made elsewhere are applied only once the user said so
  (``training.data.overlay``); the answer is kept here, per dataset folder and content
  digest (:func:`remembered_answer`), in the app data folder, never in the dataset.

Like git's ``safe.directory``: what someone else's folder carries is not trusted by default.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import stat
import tempfile
import time

from training import safefiles
from training.userdirs import user_folder

log = logging.getLogger(__name__)

KEY_FILE = "provenance.key"
KEY_BYTES = 32
ANSWERS_FILE = "dataset_label_answers.json"
ANSWERS_SCHEMA = 1
ANSWERS = ("apply", "ignore")
MAX_ANSWERS = 1000          # the oldest answers are forgotten beyond this many
SIGNATURE = "signature"     # the field a signed file carries

_keys: dict[str, bytes] = {}   # key file path -> key (read once per process)


def _data_dir() -> str:
    return user_folder("data")


def key() -> bytes:
    """This user's signing key, created on first use.

    Created as a temporary file (``O_EXCL``, mode 0600) that is then hard-linked to its
    name, so another process never reads half a key, and two processes that create it at
    once agree on the one that landed first.
    """
    path = os.path.join(_data_dir(), KEY_FILE)
    cached = _keys.get(path)
    if cached is not None:
        return cached
    try:
        data = _read_key(path)
    except FileNotFoundError:
        _create_key(path)
        data = _read_key(path)
    _keys[path] = data
    return data


def _read_key(path: str) -> bytes:
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode) or st.st_size != KEY_BYTES:
        raise OSError(f"{path} is not this app's signing key ({KEY_BYTES} bytes, a plain "
                      "file); move it away and a new one is made.")
    if os.name == "posix" and st.st_mode & 0o077:
        log.warning("%s could be read by other users; making it private (0600)", path)
        os.chmod(path, 0o600)
    with open(path, "rb") as f:
        return f.read(KEY_BYTES + 1)


def _create_key(path: str) -> None:
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".key-")   # O_EXCL, 0600
    try:
        os.write(fd, secrets.token_bytes(KEY_BYTES))
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass   # another process made it first: use theirs
        except OSError:   # a file system without hard links
            if not os.path.exists(path):
                os.replace(tmp, path)
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)


def _canonical(data: dict) -> bytes:
    body = {k: v for k, v in data.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def sign(data: dict) -> dict:
    """``data`` plus its ``signature`` (HMAC-SHA256 of its canonical JSON, without any old
    signature)."""
    mac = hmac.new(key(), _canonical(data), hashlib.sha256).hexdigest()
    return {**{k: v for k, v in data.items() if k != SIGNATURE}, SIGNATURE: mac}


def made_here(data) -> bool:
    """True when ``data`` (a parsed JSON object) carries this user's valid signature."""
    if not isinstance(data, dict) or not isinstance(data.get(SIGNATURE), str):
        return False
    try:
        expected = hmac.new(key(), _canonical(data), hashlib.sha256).hexdigest()
    except (TypeError, ValueError, OSError) as exc:
        log.warning("cannot check a signature: %s", exc)
        return False
    return hmac.compare_digest(expected, data[SIGNATURE])


# -- the user's answers about label fixes made elsewhere ----------------------------------
def _answer_key(root: str, digest: str) -> str:
    where = os.path.normcase(os.path.realpath(root))
    return hashlib.sha256(f"{where}\0{digest}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _answers_path() -> str:
    return os.path.join(_data_dir(), ANSWERS_FILE)


def _read_answers() -> dict:
    try:
        data = safefiles.read_json(_answers_path(), 4 * safefiles.MiB)
        if isinstance(data, dict):
            safefiles.check_schema(data, "remembered answers", ANSWERS_SCHEMA,
                                   where=_answers_path(), required=False)
    except safefiles.UntrustedFileError as exc:
        if not exc.missing:
            log.warning("ignoring the remembered answers: %s", exc)
        return {}
    except ValueError as exc:   # a newer app's file: ask again rather than misread it
        log.warning("ignoring the remembered answers: %s", exc)
        return {}
    answers = data.get("answers") if isinstance(data, dict) else None
    return {k: v for k, v in answers.items()
            if isinstance(v, dict) and v.get("answer") in ANSWERS} if isinstance(answers, dict) else {}


def remembered_answer(root: str, digest: str) -> str | None:
    """``"apply"``, ``"ignore"`` or None (not asked yet) for the label fixes with content
    ``digest`` that came with the dataset at ``root``."""
    entry = _read_answers().get(_answer_key(root, digest))
    return entry["answer"] if entry else None


def remember_answer(root: str, digest: str, answer: str) -> None:
    """Keep the user's ``answer`` (``"apply"`` or ``"ignore"``) for these label fixes."""
    if answer not in ANSWERS:
        raise ValueError(f"answer must be one of {ANSWERS}. Received: {answer!r}")
    answers = _read_answers()
    answers[_answer_key(root, digest)] = {"answer": answer, "root": os.path.abspath(root),
                                          "digest": digest, "at": time.time()}
    if len(answers) > MAX_ANSWERS:
        newest = sorted(answers.items(), key=lambda kv: -float(kv[1].get("at") or 0))
        answers = dict(newest[:MAX_ANSWERS])
    path = _answers_path()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    safefiles.write_json(path, {"schema_version": ANSWERS_SCHEMA, "answers": answers})
