"""The datasets of the default-accuracy suite (``bench/default_accuracy.py``), written
once into the temp folder from files that ship with packages (no download).

- ``fashion``: Fashion-MNIST IDX (``apt-get install dataset-fashion-mnist``), 60,000 / 10,000.
- ``fashion500``, ``fashion2000``, ``fashion10000``: the first N of a fixed stratified
  draw from its 60,000 training images, tested on all 10,000 test images (``.npz``).
- ``digits``: scikit-learn's 1,797 8x8 digits as PNG class folders.
- ``faces``: scikit-image's ``lfw_subset``: 100 faces and 100 non-faces, 25x25.
- ``sample``: resources/sample (1,500 Fashion-MNIST PNGs).
- ``photos``: 32x32 RGB crops of 10 real photos shipped with scikit-image and
  scikit-learn; the class is the photo a crop came from (150 crops each, random
  position and scale).

Tuning sets (``TUNE``): recipe changes are chosen on these, never on the datasets above,
which are only reported. Each mimics one regime the suite's small sets are in, from
Fashion-MNIST training images outside every suite draw (``fashion500`` .. ``fashion10000``),
tested on 2,000 other such images (never on t10k):

- ``tune1000``: 1,000 28x28 images, 10 classes (a few hundred to ~1,500 images: the
  sample, ``fashion500``).
- ``tune8x8``: 1,500 images shrunk to 8x8 (tiny inputs: sklearn's digits).
- ``tunepair``: 200 25x25 images of two classes, T-shirt/top against shirt (a tiny
  two-class set: the faces).
"""
from __future__ import annotations

import os
import tempfile

import numpy as np

from common import SAMPLE_DIR

FASHION = "/usr/share/datasets/fashion-mnist"
ROOT = os.path.join(tempfile.gettempdir(), "workbench-suite")
DIGITS_DIR = os.path.join(tempfile.gettempdir(), "workbench-bench-digits")
LABELS = {
    "fashion": "Fashion-MNIST (60k, t10k test)", "fashion500": "Fashion-MNIST 500",
    "fashion2000": "Fashion-MNIST 2,000", "fashion10000": "Fashion-MNIST 10,000",
    "digits": "sklearn digits 8x8", "faces": "skimage lfw_subset faces/non-faces",
    "sample": "resources/sample (1,500)", "photos": "photo crops 32x32 RGB (10 photos)",
}
ALL = list(LABELS)
TUNE_LABELS = {"tune1000": "tuning: Fashion-MNIST 1,000 (disjoint)",
               "tune8x8": "tuning: Fashion-MNIST 1,500 at 8x8 (disjoint)",
               "tunepair": "tuning: T-shirt vs shirt, 200 at 25x25 (disjoint)"}
TUNE = list(TUNE_LABELS)
TUNE_TEST = 2_000


def _save_png(img: np.ndarray, path: str) -> None:
    from PIL import Image

    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(img).save(path)


def write_digits(out: str = DIGITS_DIR) -> str:
    """scikit-learn's 1,797 8x8 digits as ``out/<digit>/<n>.png`` (0..16 scaled to 0..255)."""
    from sklearn.datasets import load_digits

    if os.path.isdir(out) and sum(len(f) for _, _, f in os.walk(out)) == 1797:
        return out
    digits = load_digits()
    for i, (img, label) in enumerate(zip(digits.images, digits.target)):
        _save_png(np.round(img * 255 / 16).astype(np.uint8), os.path.join(out, str(label), f"{i:04d}.png"))
    return out


def write_faces(out: str = os.path.join(ROOT, "faces")) -> str:
    from skimage.data import lfw_subset

    if os.path.isdir(out) and sum(len(f) for _, _, f in os.walk(out)) == 200:
        return out
    for i, img in enumerate(lfw_subset()):  # the first 100 are faces
        _save_png(np.round(img * 255).astype(np.uint8),
                  os.path.join(out, "face" if i < 100 else "non-face", f"{i:03d}.png"))
    return out


def _photos() -> dict:
    from skimage import data
    from sklearn.datasets import load_sample_images

    names = ("astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry",
             "hubble_deep_field", "retina", "colorwheel")
    out = {n: getattr(data, n)() for n in names}
    for name, img in zip(("china", "flower"), load_sample_images().images):
        out[name] = img
    return {k: np.asarray(v)[..., :3].astype(np.uint8) for k, v in out.items()}


def write_photos(out: str = os.path.join(ROOT, "photos"), per_class: int = 150) -> str:
    import cv2

    if os.path.isdir(out) and sum(len(f) for _, _, f in os.walk(out)) == 10 * per_class:
        return out
    rng = np.random.default_rng(0)
    for name, img in _photos().items():
        h, w = img.shape[:2]
        for i in range(per_class):
            side = int(rng.uniform(0.12, 0.35) * min(h, w))
            y, x = rng.integers(0, h - side), rng.integers(0, w - side)
            crop = cv2.resize(img[y:y + side, x:x + side], (32, 32), interpolation=cv2.INTER_AREA)
            _save_png(crop, os.path.join(out, name, f"{i:03d}.png"))
    return out


def write_fashion_subset(n: int, out_dir: str = ROOT) -> str:
    """``fashion<n>.npz``: a fixed stratified draw of ``n`` training images, all 10,000 tests."""
    import make_sample

    path = os.path.join(out_dir, f"fashion{n}.npz")
    if os.path.isfile(path):
        return path
    x, y = make_sample.load_fashion_mnist(FASHION, "train")
    xt, yt = make_sample.load_fashion_mnist(FASHION, "t10k")
    rows = make_sample.choose_per_class(y, n // 10, seed=0)
    return _save_npz(path, x_train=x[rows], y_train=y[rows], x_test=xt, y_test=yt,
                     class_names=np.array(make_sample.CLASS_NAMES))


def _save_npz(path: str, **arrays) -> str:
    """Write ``path`` atomically (a temporary file, then a rename)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def _suite_rows(y: np.ndarray) -> set:
    """Training rows any Fashion-MNIST suite subset draws (see :func:`write_fashion_subset`)."""
    import make_sample

    used = set()
    for n in (500, 2000, 10000):
        used.update(make_sample.choose_per_class(y, n // 10, seed=0).tolist())
    return used


def write_tuning_set(name: str, out_dir: str = ROOT) -> str:
    """``<name>.npz``: a tuning set (module docstring) from rows no suite subset uses."""
    import cv2
    import make_sample

    path = os.path.join(out_dir, f"{name}.npz")
    if os.path.isfile(path):
        return path
    x, y = make_sample.load_fashion_mnist(FASHION, "train")
    free = np.setdiff1d(np.arange(len(y)), np.fromiter(_suite_rows(y), np.int64))
    rng = np.random.default_rng({"tune1000": 1, "tune8x8": 2, "tunepair": 3}[name])
    classes = list(make_sample.CLASS_NAMES)
    if name == "tunepair":
        free = free[np.isin(y[free], (0, 6))]
        classes = [classes[0], classes[6]]
    n = {"tune1000": 1_000, "tune8x8": 1_500, "tunepair": 200}[name]
    rows = rng.permutation(free)[:n + TUNE_TEST]
    xs, ys = x[rows], y[rows]
    if name == "tunepair":
        ys = (ys == 6).astype(np.uint8)
        xs = np.stack([cv2.resize(i, (25, 25), interpolation=cv2.INTER_AREA) for i in xs])
    if name == "tune8x8":
        xs = np.stack([cv2.resize(i, (8, 8), interpolation=cv2.INTER_AREA) for i in xs])
    return _save_npz(path, x_train=xs[:n], y_train=ys[:n], x_test=xs[n:], y_test=ys[n:],
                     class_names=np.array(classes))


def resolve(name: str) -> str:
    """The path of suite dataset ``name`` (written on first use), or ``name`` itself."""
    if name == "fashion":
        if not os.path.isdir(FASHION):
            raise SystemExit(f"{FASHION} is missing: apt-get install -y dataset-fashion-mnist")
        return FASHION
    if name in TUNE_LABELS:
        return write_tuning_set(name)
    if name.startswith("fashion") and name[7:].isdigit():
        return write_fashion_subset(int(name[7:]))
    if name == "digits":
        return write_digits()
    if name == "faces":
        return write_faces()
    if name == "sample":
        return SAMPLE_DIR
    if name == "photos":
        return write_photos()
    return name


def has_fixed_split(name: str) -> bool:
    """Fashion-MNIST, its subsets and the tuning sets come with a test split; the others
    are split per seed."""
    return name.startswith("fashion") or name in TUNE_LABELS
