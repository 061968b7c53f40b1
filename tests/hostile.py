"""A hostile dataset corpus, generated on demand (no committed binaries), for every layer.

``make_hostile_corpus(root)`` writes, side by side with good images, every kind of bad or
odd input that issue 5 lists, and returns what a correct reader must conclude: which files
are used, which are reported (and a word their reason must contain), and which classes
exist. The CLI and GUI tests reuse it, so keep the returned keys stable.
"""
from __future__ import annotations

import functools
import gzip
import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from tests.imagegen import class_image


@functools.lru_cache(maxsize=None)
def huge_jpeg_bytes(side: int = 9000) -> bytes:
    """A flat-colour ``side`` x ``side`` JPEG (made once per process: ~0.5 s)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (side, side), (120, 40, 200)).save(buf, "JPEG", quality=50)
    return buf.getvalue()


def huge_png_bytes(side: int = 9000, mode: str = "RGB") -> bytes:
    """A valid ``side`` x ``side`` 8-bit PNG written chunk by chunk (fast: no Pillow encode)."""
    channels = {"L": 1, "RGB": 3, "RGBA": 4}[mode]
    ctype = {"L": 0, "RGB": 2, "RGBA": 6}[mode]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes([90, 160, 220, 255][:channels]) * side
    comp = zlib.compressobj(1)
    body = b"".join(comp.compress(row) for _ in range(side)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, ctype, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def _save(path: Path, arr: np.ndarray, fmt: str | None = None, **kw) -> str:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    a = arr[:, :, 0] if arr.ndim == 3 and arr.shape[2] == 1 else arr
    Image.fromarray(a).save(path, format=fmt, **kw)
    return str(path)


def _png_bytes(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG")
    return buf.getvalue()


def broken_crc_png(arr: np.ndarray) -> bytes:
    """A PNG whose IDAT chunk CRC is wrong (the pixels are intact)."""
    data = bytearray(_png_bytes(arr))
    pos = data.index(b"IDAT") - 4
    (length,) = struct.unpack(">I", data[pos:pos + 4])
    crc_at = pos + 8 + length
    data[crc_at] ^= 0xFF
    return bytes(data)


def exif_rotated_jpeg(path: Path) -> str:
    """A 20 (w) x 10 (h) JPEG, left half black and right half white, tagged orientation 6.

    Shown upright it is 10 wide and 20 tall with the dark half on top.
    """
    from PIL import Image

    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:, 10:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, "JPEG", quality=95, exif=exif.tobytes())
    return str(path)


def make_hostile_corpus(root, huge: bool = True, symlinks: bool = True) -> dict:
    """Write the hostile corpus under ``root`` and return what must be concluded from it.

    Args:
        root: an empty or missing folder.
        huge: include the 9000x9000 JPEG (costs ~0.5 s once per process).
        symlinks: include a symbolic-link loop (skipped automatically where unsupported).

    Returns:
        A dict with:
            ``folder``: the class-folder dataset (classes ``cat``, ``dog``, ``single``);
            ``classes``: its usable classes; ``good``: absolute paths of every file that
            must be used; ``bad``: ``{absolute path: word in its reason}`` for every item
            that must be reported once (``bad_index`` = found by ``open_dataset``,
            ``bad_decode`` = found by ``load_arrays``); ``exif``: the EXIF-rotated JPEG;
            ``small_class``: the class with two images, the fewest training accepts
            (a split warning is expected);
            ``csv`` / ``csv_good`` / ``csv_bad``: a CSV dataset with missing files,
            a duplicate row and unknown/empty labels; ``idx`` / ``idx_bad`` /
            ``idx_count``: IDX files whose image and label counts differ.
    """
    from PIL import Image

    root = Path(root)
    folder = root / "photos"
    rng = np.random.default_rng(5)
    good, bad_index, bad_decode = [], {}, {}

    def img(label, size=16):
        return class_image(label, size, rng)

    cat, dog = folder / "cat", folder / "dog"
    for i in range(6):
        good.append(_save(cat / f"cat_{i:02d}.png", img(0)))
        good.append(_save(dog / f"dog_{i:02d}.png", img(1)))
    for i in range(6, 10):
        good.append(_save(dog / f"dog_{i:02d}.jpg", img(1), quality=95))
    # Odd but valid files: every one must be decoded and used.
    gray16 = (img(0)[:, :, 0].astype(np.uint16) * 257)
    good.append(_save(cat / "gray16.png", gray16))
    good.append(_save(cat / "rgba.png", np.dstack([img(0), np.full((16, 16), 128, np.uint8)])))
    good.append(_save(cat / "gray.png", img(0)[:, :, 0]))
    good.append(str(cat / "palette.gif"))
    Image.fromarray(img(0)).convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(cat / "palette.gif")
    good.append(_save(cat / "bitmap.bmp", img(0)))
    good.append(_save(cat / "scan.tiff", img(0)))
    good.append(_save(cat / "web.webp", img(0), lossless=True))
    good.append(_save(cat / "UPPER.JPG", img(0), "JPEG", quality=95))
    good.append(_save(cat / "CAPS.PNG", img(0), "PNG"))
    good.append(exif_rotated_jpeg(cat / "exif_rotated.jpg"))
    good.append(_save(cat / "ünïcødé_猫.png", img(0)))
    good.append(_save(cat / "tiny_1x1.png", np.full((1, 1, 3), 200, np.uint8)))
    good.append(_save(cat / "nested" / "deeper" / "nested.png", img(0)))
    if huge:
        (cat / "huge_9000.jpg").write_bytes(huge_jpeg_bytes())
        good.append(str(cat / "huge_9000.jpg"))
    # Bad files found when decoding.
    jpeg = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(jpeg, "JPEG")
    (cat / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    bad_decode[str(cat / "truncated.jpg")] = "truncated"
    (cat / "text.jpg").write_text("this is not a picture\n", encoding="utf-8")
    bad_decode[str(cat / "text.jpg")] = "not an image"
    (dog / "broken_crc.png").write_bytes(broken_crc_png(img(1)))
    bad_decode[str(dog / "broken_crc.png")] = "CRC"
    # Bad items found when indexing.
    (cat / "zero.jpg").write_bytes(b"")  # found by load_arrays's stat, not by indexing
    bad_decode[str(cat / "zero.jpg")] = "empty"
    (cat / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(64))
    bad_index[str(cat / ".DS_Store")] = "hidden"
    (dog / "Thumbs.db").write_bytes(bytes(range(256)))
    bad_index[str(dog / "Thumbs.db")] = "not an image"
    (folder / "empty").mkdir(parents=True)
    bad_index[str(folder / "empty")] = "empty class folder"
    # Two images: the fewest a class may train with (training.data.split.MIN_IMAGES_PER_CLASS).
    good.append(_save(folder / "single" / "only_one.png", img(2)))
    good.append(_save(folder / "single" / "only_two.png", img(2)))
    if symlinks:
        try:
            os.symlink("..", cat / "nested" / "loop", target_is_directory=True)
            bad_index[str(cat / "nested" / "loop")] = "loop"
        except (OSError, NotImplementedError):
            pass

    csv_info = _make_csv(root / "csvset", rng)
    idx_info = _make_idx(root / "idx_mismatch", rng)
    bad = {**bad_index, **bad_decode}
    return {"root": str(root), "folder": str(folder), "classes": ["cat", "dog", "single"],
            "good": sorted(good), "bad": bad, "bad_index": bad_index, "bad_decode": bad_decode,
            "exif": str(cat / "exif_rotated.jpg"), "small_class": "single", **csv_info, **idx_info}


def _make_csv(root: Path, rng) -> dict:
    """``train.csv`` (id, has_cactus) + ``train/``: ids with and without extension."""
    images = root / "train"
    rows, good, bad = ["id,has_cactus"], [], {}
    for i in range(12):
        name = f"img{i:04d}.jpg"
        good.append(_save(images / name, class_image(i % 2, 16, rng), quality=95))
        rows.append(f"{name if i % 3 else name[:-4]},{i % 2}")
    rows.append("ghost_image,1")
    bad[str(images / "ghost_image")] = "does not exist"
    rows.append("img0001.jpg,0")  # duplicate (with a different label)
    bad.setdefault(str(images / "img0001.jpg"), "duplicate")
    for name, label, word in (("img0100.jpg", "7", "unknown label"), ("img0101.jpg", "", "missing label")):
        _save(images / name, class_image(0, 16, rng), quality=95)
        rows.append(f"{name},{label}")
        bad[str(images / name)] = word
    (root / "train.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {"csv": str(root / "train.csv"), "csv_good": sorted(good), "csv_bad": bad}


def _make_idx(root: Path, rng, n_images: int = 30, n_labels: int = 28, size: int = 8) -> dict:
    root.mkdir(parents=True, exist_ok=True)
    labels = (np.arange(n_labels) % 3).astype(np.uint8)
    images = np.stack([class_image(int(i % 3), size, rng, channels=1)[:, :, 0] for i in range(n_images)])
    with gzip.open(root / "train-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", 2051, n_images, size, size) + images.tobytes())
    with gzip.open(root / "train-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", 2049, n_labels) + labels.tobytes())
    return {"idx": str(root), "idx_bad": {str(root / "train-labels-idx1-ubyte.gz"): "labels"},
            "idx_count": min(n_images, n_labels)}
