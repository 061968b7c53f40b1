"""Regenerate the user guide's pictures (workbench/guide/images/*.png) from the real app.

    .venv/bin/python scripts/make_guide_images.py [--run RUN_DIR]

Runs the window offscreen at 1024x640 (the smallest supported size) on the bundled sample
dataset: without ``--run`` it first trains a small CNN on it with the CLI (a minute or
two). The "follow" picture follows a real CLI training in a child process, which is
stopped once two epochs are shown. Each picture is scaled to 800 px wide and saved with
a 128-colour palette, so the guide stays small (its test checks the total).
"""
from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "workbench" / "guide" / "images"
SAMPLE = ROOT / "resources" / "sample"
SIZE = (1024, 640)
WIDTH = 800


def wait_until(condition, timeout: float = 120.0) -> bool:
    """Run the event loop until ``condition()`` is true (polled every 50 ms)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    deadline = time.monotonic() + timeout
    timer = QTimer(interval=50)
    timer.timeout.connect(lambda: loop.quit() if condition() or time.monotonic() > deadline else None)
    timer.start()
    if not condition():
        loop.exec()
    timer.stop()
    return bool(condition())


def settle(window, key: str | None = None, seconds: float = 1.0) -> None:
    """Wait for the shown panel's background work, then let the charts draw."""
    from workbench.charts.base import pending_renders   # imported before the window (main)

    panel = window.panels[key or window.current_panel_key()]
    end = time.monotonic() + seconds
    # Charts draw in the background: a picture taken before they are back shows blanks.
    wait_until(lambda: time.monotonic() > end and not panel.pending_work()
               and not pending_renders(window))


def save(widget, name: str) -> None:
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice, Qt

    image = widget.grab().toImage().scaledToWidth(WIDTH, Qt.TransformationMode.SmoothTransformation)
    buf = QBuffer()
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buf, "PNG")
    pil = Image.open(io.BytesIO(bytes(buf.data()))).convert("RGB")
    pil = pil.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    OUT.mkdir(parents=True, exist_ok=True)
    pil.save(OUT / f"{name}.png", optimize=True)
    print(f"{name}.png: {(OUT / f'{name}.png').stat().st_size // 1024} KB")


def train_sample(out: Path) -> str:
    subprocess.run([sys.executable, "-m", "training", "train", str(SAMPLE), "--model", "cnn",
                    "--epochs", "4", "--out", str(out)], cwd=ROOT, check=True)
    return str(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", help="a finished run on resources/sample (else one is trained)")
    args = p.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    work = Path(tempfile.mkdtemp(prefix="guide-images-"))
    # The pictures must not show this machine's settings, runs or recent folders.
    os.environ["WORKBENCH_SETTINGS_DIR"] = str(work / "settings")
    os.environ["WORKBENCH_RUNS_DIR"] = str(work / "runs")
    if args.run:   # a copy in the pictures' own runs folder, so the runs list shows it
        import shutil

        run = str(work / "runs" / os.path.basename(os.path.abspath(args.run).rstrip("/")))
        shutil.copytree(args.run, run)
    else:
        run = train_sample(work / "runs" / "sample_cnn")

    from PySide6.QtWidgets import QApplication

    _app = QApplication.instance() or QApplication([])   # kept alive until the end
    # Before the window: its background thread imports the panels (and matplotlib), and
    # importing the same modules on this thread meanwhile can meet them half-initialised.
    import workbench.charts.base  # noqa: F401
    from workbench.mainwindow import MainWindow

    window = MainWindow()
    window.resize(*SIZE)
    window.show()
    window.open_dataset(str(SAMPLE))
    wait_until(lambda: window.state.dataset is not None)
    settle(window, "data", 2.0)
    save(window, "first-model-dataset")

    window.show_panel("model")
    settle(window, "model", 2.0)
    save(window, "first-model-model")

    window.state.set_run(run)
    window.show_panel("train")
    settle(window, "train")
    save(window, "first-model-training")

    window.show_panel("results")
    results = window.panels["results"]
    wait_until(lambda: results.evaluation is not None)
    settle(window, "results", 2.0)
    save(window, "results-overview")
    results.show_cell(4, 6)   # Pullover taken for Shirt: the sample's commonest confusion
    settle(window, "results")
    results.scroll.verticalScrollBar().setValue(results.scroll.verticalScrollBar().maximum())
    settle(window, "results", 1.0)
    save(window, "results-gallery")

    results.result_tabs.setCurrentIndex(1)
    health = results.health
    health.quick.setChecked(True)
    health.check()
    wait_until(lambda: health.report is not None, timeout=600)
    settle(window, "results")
    health.gallery.list.setCurrentRow(0)
    results.scroll.verticalScrollBar().setValue(results.scroll.verticalScrollBar().maximum())
    settle(window, "results", 1.0)
    save(window, "fix-labels-health")
    results.result_tabs.setCurrentIndex(0)

    window.show_panel("classify")
    classify = window.panels["classify"]
    settle(window, "classify")
    classify.classify([str(SAMPLE / "Coat"), str(SAMPLE / "Sandal")])
    settle(window, "classify", 2.0)
    save(window, "classify")

    dialog = window.export_model()
    dialog.resize(760, 460)
    wait_until(lambda: dialog.isVisible())
    settle(window, "results", 0.5)
    save(dialog, "export")
    dialog.close()

    follow = work / "runs" / "followed"
    child = subprocess.Popen([sys.executable, "-m", "training", "train", str(SAMPLE), "--model", "mlp",
                              "--epochs", "30", "--out", str(follow)], cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        training = window.panels["train"]
        wait_until(lambda: (follow / "history.json").is_file(), timeout=300)
        window.show_panel("train")
        training.follow_run(str(follow))
        wait_until(lambda: training.epochs_seen >= 3 or len(training.log.toPlainText().splitlines()) >= 3,
                   timeout=300)
        window.panels["train"].accuracy_chart.draw()   # the latest epochs, drawn now
        window.panels["train"].loss_chart.draw()
        settle(window, "train", 1.0)
        save(window, "follow")
        training.stop_training()
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    window.close()
    window.shutdown()
    total = sum(f.stat().st_size for f in OUT.glob("*.png"))
    print(f"total {total // 1024} KB in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
