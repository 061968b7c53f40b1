"""Tiny, learnable image datasets written by the tests themselves (no committed binaries).

Each class gets a distinct, noisy pattern (a bright bar in a class-specific position
and orientation), so a small model can learn it in one or two epochs and a broken
pipeline (wrong labels, wrong scaling) shows up as chance accuracy.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def class_image(label: int, size: int = 16, rng=None, channels: int = 3) -> np.ndarray:
    """A uint8 (size, size, channels) image whose pattern depends on ``label``."""
    rng = rng or np.random.default_rng(label)
    img = rng.integers(0, 60, size=(size, size), dtype=np.int32)
    band = max(2, size // 5)
    pos = (label * band * 2) % max(1, size - band)
    if label % 2 == 0:
        img[pos:pos + band, :] += 180
    else:
        img[:, pos:pos + band] += 180
    img = np.clip(img, 0, 255).astype(np.uint8)
    if channels == 1:
        return img[:, :, None]
    out = np.stack([img] * channels, axis=-1)
    out[..., label % channels] = np.clip(out[..., label % channels].astype(int) + 40, 0, 255)
    return out


def write_image(path: Path, arr: np.ndarray, fmt: str | None = None) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    a = arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr
    Image.fromarray(a).save(path, format=fmt)
    return path


def make_class_folder(root: Path, classes=("cat", "dog", "fox"), per_class: int = 12,
                      size: int = 16, ext: str = ".png", seed: int = 0) -> Path:
    """``root/<class>/<class>_<i><ext>`` for each class."""
    rng = np.random.default_rng(seed)
    for c, name in enumerate(classes):
        for i in range(per_class):
            write_image(Path(root) / name / f"{name}_{i:03d}{ext}", class_image(c, size, rng))
    return Path(root)


def make_noise_folder(root: Path, classes=("a", "b"), per_class: int = 30, size: int = 8) -> Path:
    """Classes of pure noise: a network can only memorise them, so the validation loss is
    lowest in the first epochs and rises as the training set is learnt (the best-validated
    epoch is an early one, not the last)."""
    rng = np.random.default_rng(0)
    for name in classes:
        for i in range(per_class):
            write_image(Path(root) / name / f"{i:03d}.png",
                        rng.integers(0, 256, (size, size, 3)).astype(np.uint8))
    return Path(root)


def make_split_folder(root: Path, classes=("cat", "dog"), counts=(10, 4, 4), size: int = 16,
                      val_name: str = "validation") -> Path:
    """``root/{train,<val_name>,test}/<class>/…`` like cats_and_dogs_filtered."""
    rng = np.random.default_rng(1)
    for split, n in zip(("train", val_name, "test"), counts):
        if n == 0:
            continue
        for c, name in enumerate(classes):
            for i in range(n):
                write_image(Path(root) / split / name / f"{name}.{split}.{i}.jpg",
                            class_image(c, size, rng))
    return Path(root)


def make_csv_dataset(root: Path, n: int = 30, size: int = 16, with_ext: bool = False) -> Path:
    """``root/train.csv`` (id,has_cactus) + ``root/train/<id>.jpg``, like the cactus seed."""
    return _label_table(root, "train.csv", ",", ("id", "has_cactus"), ("0", "1"), n, size,
                        lambda i: f"img{i:04d}.jpg", with_ext, seed=2)


def _label_table(root, table: str, sep: str, header, label_names, n: int, size: int, file_name,
                 with_ext: bool, seed: int) -> Path:
    """``root/<table>`` (``header``, cells separated by ``sep``) + ``root/train/<file>``."""
    rng = np.random.default_rng(seed)
    rows = [sep.join(header)]
    for i in range(n):
        label = i % 2
        name = file_name(i)
        write_image(Path(root) / "train" / name, class_image(label, size, rng))
        rows.append(f"{name if with_ext else os.path.splitext(name)[0]}{sep}{label_names[label]}")
    (Path(root) / table).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return Path(root) / table


def make_tsv_dataset(root: Path, n: int = 12, size: int = 16) -> Path:
    """``root/train.tsv`` (tab-separated ``file<TAB>species``, file and species names with
    commas in them) + ``root/train/<file>.png``."""
    return _label_table(root, "train.tsv", "\t", ("file", "species"), ("big, cat", "small, dog"),
                        n, size, lambda i: f"pic, {i:03d}.png", True, seed=4)


def make_idx_dataset(root: Path, n_train: int = 40, n_test: int = 20, size: int = 8,
                     classes: int = 4, gz: bool = True) -> Path:
    """MNIST-style IDX files (``train-images-idx3-ubyte[.gz]`` etc.)."""
    import gzip
    import struct

    rng = np.random.default_rng(3)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = (np.arange(n) % classes).astype(np.uint8)
        images = np.stack([class_image(int(l), size, rng, channels=1)[:, :, 0] for l in labels])
        img_bytes = struct.pack(">IIII", 2051, n, size, size) + images.tobytes()
        lbl_bytes = struct.pack(">II", 2049, n) + labels.tobytes()
        for name, data in ((f"{prefix}-images-idx3-ubyte", img_bytes),
                           (f"{prefix}-labels-idx1-ubyte", lbl_bytes)):
            if gz:
                with gzip.open(root / (name + ".gz"), "wb") as f:
                    f.write(data)
            else:
                (root / name).write_bytes(data)
    return root


@pytest.fixture
def class_folder(tmp_path):
    return make_class_folder(tmp_path / "data")


@pytest.fixture
def split_folder(tmp_path):
    return make_split_folder(tmp_path / "split")


@pytest.fixture
def csv_dataset(tmp_path):
    return make_csv_dataset(tmp_path / "cactus")


@pytest.fixture
def idx_dataset(tmp_path):
    return make_idx_dataset(tmp_path / "idx")


def snapshot_tree(root) -> dict:
    """{relative path: (size, mtime_ns)} of every file, to prove nothing was modified."""
    out = {}
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        for f in files:
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            out[os.path.relpath(p, root)] = (st.st_size, st.st_mtime_ns)
    return out
