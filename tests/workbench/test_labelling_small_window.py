"""The labelling view keeps a 1024x640 window at 1024 px (issue 23's screenshots): a loose
folder with label fixes, a long class name and an imbalance warning once pushed it to 1057
px, because the "N label fixes" count widened the filter row while the split settings
were still shown beside it. Checked on ``main.py --screenshot`` in a process of its own, as
a user starts the app (the first window of a process is the one that grew)."""
from __future__ import annotations

import os
import struct
import subprocess
import sys

from tests.childcall import ROOT
from tests.imagegen import class_image, write_image
from training.data.overlay import load_overlay


def test_a_labelled_loose_folder_fits_1024_px(tmp_path):
    root = tmp_path / "photos"
    for i in range(60):
        write_image(root / f"img_{i:03d}.png", class_image(i % 3, 16))
    overlay = load_overlay(str(root))
    for name in ("1", "trousers", "other_long_class_name"):
        overlay.add_class(name, [])
    for i in range(29):
        overlay.relabel(f"img_{i:03d}.png", "trousers")
    for i in range(29, 34):
        overlay.relabel(f"img_{i:03d}.png", "other_long_class_name")
    overlay.save()
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "main.py", "--no-restore", "--dataset", str(root),
                           "--panel", "data", "--screenshot", str(out), "--size", "1024x640"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    width, height = struct.unpack(">II", out.read_bytes()[16:24])   # the PNG's IHDR
    assert (width, height) == (1024, 640)
