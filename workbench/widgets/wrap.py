"""Text for labels: long paths and file names that wrap, and sizes in words.

A QLabel wraps only between words, so a path like ``/home/me/.keras/models/mobilenet_v2_
weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5`` sets the label's minimum width to
the whole path: the settings column grew past a 1280 px window and was clipped. A zero-
width space after each separator lets Qt break the line there; the text looks the same.
Put the plain text in the tooltip where the person may want to copy it.
"""
from __future__ import annotations

ZWSP = "\u200b"
_AFTER = "/\\_-."


def breakable(text: str) -> str:
    """``text`` with a zero-width break opportunity after every path separator, ``_``,
    ``-`` and ``.``."""
    return "".join(ch + ZWSP if ch in _AFTER else ch for ch in str(text))


def human_size(n: int) -> str:
    """``1536`` -> ``1.5 KB`` (binary units, as file managers show); the one way the app
    writes a number of bytes."""
    value = float(n)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value):,} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
