"""Shared set-up of the sort tests (not a test module): folders of photos to sort, file
trees by content, and mounts of small or read-only file systems (root only)."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.imagegen import class_image, write_image

CLASSES = ("cat", "dog", "fox")   # tests.training.trainutil.mlp_run's classes


def make_photos(root: Path, per_class: int = 4, size: int = 16, seed: int = 5) -> Path:
    """Loose photos of the three classes, some in a sub-folder, one with a Unicode name,
    plus a corrupt JPEG and a text file: ``root``."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(CLASSES):
        for i in range(per_class):
            sub = "trip" if i % 2 else ""
            write_image(Path(root) / sub / f"{name} photo {i}.png", class_image(c, size, rng))
    write_image(Path(root) / "été" / "chat_ü_😀.png", class_image(0, size, rng))
    (Path(root) / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (Path(root) / "notes.txt").write_text("not a photo", encoding="utf-8")
    return Path(root)


def tree(root) -> dict:
    """{relative path: sha256} of every file under ``root`` (the byte-for-byte check)."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = hashlib.sha256(Path(p).read_bytes()).hexdigest()
    return out


def mount(kind_args: list[str], target: Path) -> None:
    """``mount`` as root, or skip the test (CI may run as another user)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a file system needs root")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *kind_args, str(target)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip()}")


def umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], capture_output=True)
