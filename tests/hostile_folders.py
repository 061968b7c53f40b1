"""Hostile dataset and run folders (issue 25), generated on demand, and the sentinel that
proves nothing outside them changed.

``sentinel(tmp)`` makes a small tree of "the user's other files" outside the folder under
test; ``tree_hash(path)`` hashes names, link targets, modes and contents of a tree, so a
test takes it before and after and asserts it is unchanged. ``hostile_journal`` writes the
issue's reproduction: a move journal whose ``dst`` and ``overlay_path`` point outside the
dataset.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

JOURNAL_NAME = "29991231-000000-1.json"   # the name: sorts after any real journal


def sentinel(tmp) -> Path:
    """``<tmp>/outside``: a user's files that no dataset or run folder may touch."""
    root = Path(tmp) / "outside"
    (root / "docs").mkdir(parents=True, exist_ok=True)
    (root / "victim.txt").write_text("the user's own file\n", encoding="utf-8")
    (root / "config.json").write_text('{"theme": "dark"}\n', encoding="utf-8")
    (root / "docs" / "notes.md").write_text("# notes\n", encoding="utf-8")
    (root / "secret.keras").write_bytes(b"PK\x03\x04 not a model, and not this run's")
    return root


def tree_hash(path) -> str:
    """One hash of everything under ``path``: names, kinds, modes, link targets, bytes."""
    h = hashlib.sha256()
    for dirpath, dirnames, files in os.walk(path, followlinks=False):
        dirnames.sort()
        for name in sorted(dirnames + files):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            h.update(f"{os.path.relpath(p, path)}\0{stat.S_IFMT(st.st_mode)}\0"
                     f"{stat.S_IMODE(st.st_mode)}\0".encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                with open(p, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
    return h.hexdigest()


def journal_folder(dataset) -> Path:
    return Path(dataset) / ".workbench" / "moves"


def hostile_journal(dataset, outside, *, src=None, dst=None, signed=False, **extra) -> Path:
    """The issue's reproduction: ``src`` inside the dataset, ``dst`` (a user's file) and
    ``overlay_path`` outside it. ``signed``: with this user's key (as if this app had
    written it), to show the path checks hold on their own."""
    dataset, outside = Path(dataset), Path(outside)
    data = {"schema_version": 1, "root": str(dataset), "created": "2999-12-31T00:00:00",
            "undone": False,
            "overlay_before": {"schema_version": 1, "root": str(dataset), "labels": {},
                               "excluded": []},
            "overlay_path": str(outside / "config.json"), "created_dirs": [],
            "moves": [{"src": str(src or dataset / "cat" / "stolen.txt"),
                       "dst": str(dst or outside / "victim.txt"), "label": "cat"}]}
    data.update(extra)
    if signed:
        from training.data.provenance import sign

        data = sign(data)
    path = journal_folder(dataset) / JOURNAL_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def foreign_overlay(dataset, labels: dict, excluded=(), **extra) -> Path:
    """A label overlay that came with the dataset: valid, but not signed by this user."""
    path = Path(dataset) / ".workbench" / "labels.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"schema_version": 1, "root": "/somewhere/else",
                                "labels": labels, "excluded": list(excluded), **extra}),
                    encoding="utf-8")
    return path


def deep_json(depth: int = 100_000) -> str:
    return "[" * depth + "]" * depth
