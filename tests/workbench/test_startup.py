"""Start-up: the window shows before TensorFlow is imported; --screenshot of the data
panel writes a real PNG without importing TensorFlow (subprocesses, like a user)."""
import os
import subprocess
import sys

import numpy as np

from tests.imagegen import make_class_folder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _run(code: str, tmp_path, timeout=120):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               WORKBENCH_SETTINGS_DIR=str(tmp_path / "settings"))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout)


def test_window_shows_before_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QTimer\n"
        "app = QApplication([])\n"
        "from workbench.mainwindow import MainWindow\n"
        "w = MainWindow(probe_device=False)\n"
        "w.show()\n"
        "app.processEvents()\n"
        "print('VISIBLE', w.isVisible())\n"
        "print('TF', 'tensorflow' in sys.modules, 'keras' in sys.modules)\n"
        "w.close()\n"
    )
    out = _run(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "VISIBLE True" in out.stdout
    assert "TF False False" in out.stdout, out.stdout


def test_screenshot_data_panel_without_tensorflow(tmp_path):
    data = make_class_folder(tmp_path / "data", per_class=6)
    png = tmp_path / "shot.png"
    code = (
        "import sys\n"
        "from workbench.app import main\n"
        f"rc = main(['--screenshot', {str(png)!r}, '--dataset', {str(data)!r}, '--panel', 'data'])\n"
        "print('TF', 'tensorflow' in sys.modules)\n"
        "sys.exit(rc)\n"
    )
    out = _run(code, tmp_path)
    assert out.returncode == 0, out.stderr
    assert "TF False" in out.stdout, out.stdout
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.shape[0] >= 600 and img.shape[1] >= 1000
    assert img.std() > 10, "screenshot is (nearly) uniform"
    # The class-coloured thumbnails (red/green/blue-tinted noise) must be in the picture,
    # not only grey placeholders: look for strongly saturated pixels.
    sat = img.max(axis=2).astype(int) - img.min(axis=2).astype(int)
    assert (sat > 60).sum() > 2000
