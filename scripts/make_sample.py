"""Regenerate the bundled sample dataset (``resources/sample/``) from Fashion-MNIST.

Usage::

    python scripts/make_sample.py [--src DIR] [--out resources/sample] [--per-class 150] [--seed 0]

It reads the Fashion-MNIST IDX files (the Debian/Ubuntu ``dataset-fashion-mnist`` package
puts them in ``/usr/share/datasets/fashion-mnist``), picks ``--per-class`` training images
of each class with a seeded random choice, and writes them as 28x28 grayscale PNGs to
``OUT/<class folder>/<training-set index>.png``, plus a ``README.md`` and ``LICENSE`` naming
the source. The same arguments always give byte-identical files (PNG encoding by Pillow
embeds no timestamp), so the committed sample can be checked against the script.

The IDX reader and PNG writer are also used by ``bench/common.py`` to write the full
70,000-image dataset as class folders.
"""
from __future__ import annotations

import argparse
import gzip
import os
import struct
import sys
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from PIL import Image

DEFAULT_SRC = "/usr/share/datasets/fashion-mnist"
DEFAULT_OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "resources", "sample")

# Fashion-MNIST's label names, made safe as folder names on every OS ("/" is a path
# separator everywhere; spaces are legal but awkward on command lines).
CLASS_NAMES = ("T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle_boot")
ORIGINAL_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

LICENSE_TEXT = """\
The MIT License (MIT)

Copyright (c) 2017 Zalando SE, https://tech.zalando.com

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

README_TEMPLATE = """\
# Bundled sample: Fashion-MNIST subset

{total} grayscale 28x28 PNG images of clothing, {per_class} per class, in one folder per
class. It is a random subset (seed {seed}) of the training set of **Fashion-MNIST** by
Zalando Research (https://github.com/zalandoresearch/fashion-mnist), which is released
under the MIT licence: see `LICENSE` in this folder (Copyright (c) 2017 Zalando SE).

Each file is named after its index in the original 60,000-image training set.

| Folder | Original label |
|---|---|
{rows}

Regenerate it (byte-identical) from the IDX files of the `dataset-fashion-mnist` package:

    python scripts/make_sample.py --per-class {per_class} --seed {seed}

Reference: Han Xiao, Kashif Rasul, Roland Vollgraf. "Fashion-MNIST: a Novel Image
Dataset for Benchmarking Machine Learning Algorithms." arXiv:1708.07747, 2017.
"""


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a NumPy array.

    Args:
        path: a ``*-idx3-ubyte[.gz]`` (images) or ``*-idx1-ubyte[.gz]`` (labels) file.

    Returns:
        uint8 array of shape ``(N, rows, cols)`` for images or ``(N,)`` for labels.
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = data[0] * 256 + data[1], data[2], data[3]
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path} is not a uint8 IDX file. Received header bytes: {data[:4]!r}")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path} holds {arr.size} bytes of data; its header says {dims}.")
    return arr.reshape(dims)


def _find(src: str, stem: str) -> str:
    for name in (stem + ".gz", stem):
        p = os.path.join(src, name)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(f"No {stem}[.gz] in {src!r}; install the dataset-fashion-mnist "
                            "package or pass --src DIR.")


def load_fashion_mnist(src: str = DEFAULT_SRC, part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load one part of Fashion-MNIST.

    Args:
        src: folder with the IDX files.
        part: ``"train"`` (60,000 images) or ``"t10k"`` (the 10,000 test images).

    Returns:
        ``(images uint8 (N, 28, 28), labels uint8 (N,))``.
    """
    x = read_idx(_find(src, f"{part}-images-idx3-ubyte"))
    y = read_idx(_find(src, f"{part}-labels-idx1-ubyte"))
    if len(x) != len(y):
        raise ValueError(f"{src}: {len(x)} {part} images but {len(y)} labels.")
    return x, y


def choose_per_class(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Seeded choice of ``per_class`` row numbers from each class, sorted."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(len(CLASS_NAMES)):
        candidates = np.flatnonzero(labels == c)
        if len(candidates) < per_class:
            raise ValueError(f"class {CLASS_NAMES[c]} has {len(candidates)} images; "
                             f"asked for per_class={per_class}.")
        rows.append(rng.choice(candidates, size=per_class, replace=False))
    return np.sort(np.concatenate(rows))


def _write_chunk(args) -> int:
    images, paths, optimize = args
    for img, path in zip(images, paths):
        Image.fromarray(img).save(path, format="PNG", optimize=optimize)
    return len(paths)


def write_png_folders(images: np.ndarray, labels: np.ndarray, names: list[str] | np.ndarray,
                      out: str, optimize: bool = True, workers: int | None = None) -> list[str]:
    """Write images as ``out/<class folder>/<name>.png``.

    Args:
        images: uint8 (N, H, W) grayscale images.
        labels: class numbers into ``CLASS_NAMES``.
        names: file stems, one per image.
        out: target folder (created; class folders created inside).
        optimize: Pillow's PNG ``optimize`` (smaller files, slower writing).
        workers: processes to use for large batches (default: all cores).

    Returns:
        The paths written.
    """
    for c in CLASS_NAMES:
        os.makedirs(os.path.join(out, c), exist_ok=True)
    paths = [os.path.join(out, CLASS_NAMES[int(l)], f"{n}.png") for l, n in zip(labels, names)]
    if len(paths) < 2000:
        _write_chunk((images, paths, optimize))
        return paths
    workers = workers or os.cpu_count() or 1
    step = 2000
    jobs = [(images[i:i + step], paths[i:i + step], optimize) for i in range(0, len(paths), step)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_write_chunk, jobs))
    return paths


def make_sample(src: str = DEFAULT_SRC, out: str = DEFAULT_OUT, per_class: int = 150,
                seed: int = 0) -> list[str]:
    """Write the bundled sample (images, README.md, LICENSE) and return the image paths.

    PNGs left over from an earlier run with other arguments are removed, but only files
    named like this script's output (``<digits>.png``) inside its own class folders.
    """
    x, y = load_fashion_mnist(src, "train")
    rows = choose_per_class(y, per_class, seed)
    names = [f"{r:05d}" for r in rows]
    paths = write_png_folders(x[rows], y[rows], names, out, optimize=True)
    keep = set(os.path.abspath(p) for p in paths)
    for c in CLASS_NAMES:
        folder = os.path.join(out, c)
        for f in os.listdir(folder):
            p = os.path.abspath(os.path.join(folder, f))
            if f.endswith(".png") and f[:-4].isdigit() and p not in keep:
                os.remove(p)
    table = "\n".join(f"| `{f}` | {o} |" for f, o in zip(CLASS_NAMES, ORIGINAL_NAMES))
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8", newline="\n") as f:
        f.write(README_TEMPLATE.format(total=len(paths), per_class=per_class, seed=seed, rows=table))
    with open(os.path.join(out, "LICENSE"), "w", encoding="utf-8", newline="\n") as f:
        f.write(LICENSE_TEXT)
    return paths


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", default=DEFAULT_SRC, help="folder with the Fashion-MNIST IDX files")
    p.add_argument("--out", default=DEFAULT_OUT, help="target folder (default resources/sample)")
    p.add_argument("--per-class", type=int, default=150, help="images per class (default 150)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    a = p.parse_args(argv)
    try:
        paths = make_sample(a.src, a.out, a.per_class, a.seed)
    except (OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    size = sum(os.path.getsize(q) for q in paths)
    print(f"wrote {len(paths)} images ({size / 1e6:.2f} MB) to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
