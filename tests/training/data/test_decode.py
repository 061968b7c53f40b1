import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from tests.hostile import broken_crc_png, exif_rotated_jpeg, huge_png_bytes
from tests.imagegen import class_image
from training.data import DecodeError, decode_image
from training.data import decode as dec
from training.data import pixels

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _bytes(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, tol", [("PNG", 0), ("BMP", 0), ("TIFF", 0), ("WEBP", 0), ("JPEG", 12),
                                      ("GIF", 40)])
def test_formats_decode_to_the_same_pixels(fmt, tol):
    arr = class_image(3, 16)
    kw = {"lossless": True} if fmt == "WEBP" else {"quality": 95} if fmt == "JPEG" else {}
    out = decode_image(_bytes(Image.fromarray(arr), fmt, **kw))
    assert out.shape == (16, 16, 3) and out.dtype == np.uint8 and out.flags.c_contiguous
    assert np.abs(out.astype(int) - arr).mean() <= tol


def test_gif_first_frame_only():
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 0, 255))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:])
    out = decode_image(buf.getvalue())
    assert tuple(out[0, 0]) == (255, 0, 0)


def test_sixteen_bit_png_is_scaled_to_eight_bits():
    a16 = np.array([[0, 257 * 100, 65535]], np.uint16)
    data = _bytes(Image.fromarray(a16), "PNG")
    assert data[24] == 16  # IHDR bit depth: really a 16-bit file
    assert decode_image(data, color_mode="grayscale")[0, :, 0].tolist() == [0, 100, 255]


def test_transparency_is_composited_on_white():
    rgba = np.zeros((1, 3, 4), np.uint8)
    rgba[0, :, :3] = (0, 0, 200)
    rgba[0, :, 3] = (0, 255, 128)
    out = decode_image(_bytes(Image.fromarray(rgba), "PNG"))
    assert out[0].tolist() == [[255, 255, 255], [0, 0, 200], [127, 127, 227]]
    pal = Image.new("P", (2, 1))
    pal.putpalette([10, 20, 30, 40, 50, 60])
    pal.putpixel((1, 0), 1)
    out = decode_image(_bytes(pal, "PNG", transparency=0))
    assert out[0].tolist() == [[255, 255, 255], [40, 50, 60]]


@pytest.mark.parametrize("mode", ["L", "1", "LA", "P", "CMYK", "I;16", "RGB"])
def test_every_colour_mode_gives_rgb_and_grayscale(mode):
    im = Image.fromarray(class_image(1, 16)).convert(mode if mode != "I;16" else "I").convert(mode) \
        if mode != "I;16" else Image.fromarray(class_image(1, 16)[:, :, 0].astype(np.uint16) * 257)
    fmt = "JPEG" if mode == "CMYK" else "TIFF" if mode == "I;16" else "PNG"
    data = _bytes(im, fmt)
    assert decode_image(data).shape == (16, 16, 3)
    assert decode_image(data, color_mode="grayscale").shape == (16, 16, 1)


def test_grayscale_matches_pillow_and_grey_input_is_replicated():
    arr = class_image(2, 16)
    out = decode_image(_bytes(Image.fromarray(arr), "PNG"), color_mode="grayscale")
    assert np.array_equal(out[:, :, 0], np.asarray(Image.fromarray(arr).convert("L")))
    grey = decode_image(_bytes(Image.fromarray(arr[:, :, 0]), "PNG"))
    assert np.array_equal(grey[:, :, 0], arr[:, :, 0]) and np.array_equal(grey[:, :, 0], grey[:, :, 2])


@pytest.mark.parametrize("fmt, channels", [("PNG", 3), ("PNG", 1), ("JPEG", 3), ("JPEG", 1)])
@pytest.mark.parametrize("size", [None, (10, 12), (40, 30)])
def test_fast_path_and_pillow_path_agree(fmt, channels, size):
    arr = class_image(1, 24, channels=channels)
    data = _bytes(Image.fromarray(arr[:, :, 0] if channels == 1 else arr), fmt, quality=90)
    assert dec._decode_fast(data) is not None  # this file does take the fast path
    for mode in ("rgb", "grayscale"):
        fast = decode_image(data, size, mode)
        slow = dec._finish(dec._decode_pillow(data, dec.normalize_size(size)), dec.normalize_size(size), mode)
        # libjpeg builds may differ by a rounding step; PNG must be identical.
        assert np.abs(fast.astype(int) - slow).max() <= (0 if fmt == "PNG" else 2)


def test_resize_is_plain_bilinear_without_keeping_aspect():
    out = decode_image(_bytes(Image.fromarray(class_image(0, 32)), "PNG"), size=(8, 20))
    assert out.shape == (8, 20, 3)
    assert decode_image(_bytes(Image.new("L", (5, 5), 77), "PNG"), size=3).shape == (3, 3, 3)


def test_enlarging_uses_opencv_bilinear_within_one_level_of_pillow():
    rng = np.random.default_rng(0)
    for shape in [(28, 28), (20, 24, 3)]:
        arr = rng.integers(0, 256, shape, np.uint8)
        pil = Image.fromarray(arr)
        for size in [(128, 128), (28, 40), (64, 24)]:
            out = pixels.resize_array(arr, size)
            if not pixels.enlarges(shape[0], shape[1], size):  # shrinks a side: Pillow, exactly
                assert np.array_equal(out, np.asarray(pixels.resize_image(pil, size)))
                continue
            want = np.asarray(pil.resize(size[::-1], Image.Resampling.BILINEAR))
            assert out.shape == want.shape
            assert np.abs(out.astype(int) - want).max() <= 1


def test_exif_orientation_is_applied(tmp_path):
    out = decode_image(exif_rotated_jpeg(tmp_path / "r.jpg"))
    assert out.shape == (20, 10, 3)
    assert out[:8].mean() < 40 and out[12:].mean() > 215  # dark half on top, as displayed


def test_unicode_path_and_bytes_agree(tmp_path):
    p = tmp_path / "фото_照片_ünï.png"
    Image.fromarray(class_image(0, 16)).save(p)
    assert np.array_equal(decode_image(p), decode_image(p.read_bytes()))
    assert np.array_equal(decode_image(str(p)), class_image(0, 16))


def test_bad_files_raise_decode_error_with_reason(tmp_path):
    jpeg = _bytes(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)), "JPEG")
    png = _bytes(Image.fromarray(class_image(0, 16)), "PNG")
    cases = {
        "truncated": jpeg[: len(jpeg) // 2],
        "empty": b"",
        "not an image": b"hello, I am text pretending to be a JPEG\n",
        "CRC": broken_crc_png(class_image(0, 16)),
        "truncated PNG": png[:-30],
        "unsupported image format ICO": _bytes(Image.new("RGB", (16, 16)), "ICO"),
        "not a recognised image": bytes(range(256)) * 4,
    }
    for word, data in cases.items():
        with pytest.raises(DecodeError) as info:
            decode_image(data)
        assert word in info.value.reason, (word, info.value.reason)
    with pytest.raises(DecodeError, match="cannot read file"):
        decode_image(tmp_path / "missing.png")


def test_one_pixel_image():
    assert decode_image(_bytes(Image.new("RGB", (1, 1), (9, 8, 7)), "PNG"), size=(4, 4))[3, 3].tolist() == [9, 8, 7]


def test_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="color_mode"):
        decode_image(b"x", color_mode="cmyk")
    with pytest.raises(ValueError, match="size"):
        decode_image(b"x", size=(0, 4))


def _fake_header_png(side: int, mode: str) -> bytes:
    """A valid PNG header claiming ``side`` x ``side`` pixels, with almost no pixel data."""
    import struct
    import zlib

    data = bytearray(huge_png_bytes(16, mode))
    data[16:24] = struct.pack(">II", side, side)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


def test_images_over_the_memory_budget_are_refused_before_decoding():
    # 9000x9000 RGBA would need a second, premultiplied full-size copy to resize.
    with pytest.raises(DecodeError, match=r"9000x9000 pixels \(RGBA\) would need 618 MB; the limit"):
        decode_image(_fake_header_png(9000, "RGBA"), size=(32, 32))
    with pytest.raises(DecodeError, match="too large"):  # past Pillow's own bomb limit
        decode_image(_fake_header_png(20000, "RGB"), size=(32, 32))


def _peak_rss_delta_mb(code: str) -> float:
    script = textwrap.dedent(f"""
        import resource, sys
        sys.path.insert(0, {ROOT!r})
        from tests.hostile import huge_png_bytes, huge_jpeg_bytes
        from training.data import decode_image
        {code.strip()}
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        out = decode_image(data, size=(64, 64))
        assert out.shape == (64, 64, 3), out.shape
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return float(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units differ")
def test_huge_images_decode_with_bounded_memory():
    # 9000x9000 RGB PNG: 324 MB in Pillow (RGB is stored as 4 bytes/pixel); no reduced
    # decode exists for PNG, but nothing beyond that one full-size copy may be made.
    assert _peak_rss_delta_mb("data = huge_png_bytes(9000)") < 380
    # 9000x9000 JPEG: decoded at 1/8 scale through draft mode.
    assert _peak_rss_delta_mb("data = huge_jpeg_bytes(9000)") < 60


@pytest.mark.parametrize("mode,orientation", [("RGB", 1), ("RGB", 6), ("L", 1), ("CMYK", 1)])
def test_display_decodes_a_big_jpeg_at_the_size_it_is_shown(tmp_path, monkeypatch, mode, orientation):
    """Issue 23: a preview or thumbnail decodes a big JPEG at libjpeg's reduced scale
    that still covers its fit in the box (not twice the box, not the full size), with the
    same picture: upright (EXIF), its own colour mode, close to the full decode shrunk."""
    from PIL import JpegImagePlugin

    from training.data import decode_to_fit

    h, w = 960, 1280
    yy, xx = np.mgrid[0:h, 0:w]
    rgb = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) * 255 // (w + h)], -1).astype(np.uint8)
    rgb[: h // 2, : w // 2] = 0   # a dark quarter at the top left, to see the rotation
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "photo.jpg"
    Image.fromarray(rgb).convert(mode).save(path, "JPEG", quality=92, exif=exif.tobytes())
    drafts = []
    real_draft = JpegImagePlugin.JpegImageFile.draft

    def draft(self, m, size):
        out = real_draft(self, m, size)
        drafts.append(self.size)
        return out

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", draft)
    out = decode_to_fit(str(path), 200, enlarge=False)
    # 1280x960 fitted in 200 px is 200x150: 1/4 scale (320x240) covers it, 1/8 (160x120) not.
    assert drafts == [(320, 240)]
    want_shape = (150, 200) if orientation == 1 else (200, 150)
    assert out.shape[:2] == want_shape
    assert out.ndim == (2 if mode == "L" else 3)
    full = dec.fit_in_box(decode_image(str(path), color_mode="grayscale" if mode == "L" else "rgb"),
                          200, enlarge=False)
    assert full.shape == out.shape
    assert np.abs(full.astype(int) - out.astype(int)).mean() < 4
    corner = out[:40, :40] if orientation == 1 else out[:40, -40:]   # rotated 90° clockwise
    assert corner.mean() < 30
    # A JPEG under twice the box keeps its full-size decode (no blurrier than before).
    drafts.clear()
    assert decode_to_fit(str(path), 700, enlarge=False).shape[:2] in ((525, 700), (700, 525))
    assert drafts in ([], [(1280, 960)])
