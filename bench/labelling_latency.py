"""Key press → next image shown, in the Dataset panel's labelling view (issue 23).

    python bench/labelling_latency.py [--images 10000] [--presses 200] [--pace-ms 250]
                                      [--prelabelled 0] [--jpeg]

The real main window (offscreen) opens a folder of ``--images`` loose images (Fashion-MNIST
test and training images written as PNGs, or with ``--jpeg`` generated 1024x768 JPEG
photos), which opens in the labelling view; ten classes are made. A simulated labeller
then presses the key of each image's true class ``--presses`` times. For each press the
time from just before the key event is sent to the moment the large preview is painted
with the next image is recorded (an event filter on the preview sees the paint), and
whether that preview had been decoded ahead. Two paces: ``--pace-ms`` between presses (a
person labelling quickly), and no pause at all (keys held down: the prefetch cannot keep
ahead). Target: p95 ≤ 50 ms. ``--prelabelled N`` starts with N images labelled already
(a bigger label file is written on every press).

There is no plain-Keras side to compare with here (no model runs); the numbers are the
app's alone, with peak RSS and CPU time.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common

FASHION = ("T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
           "Bag", "Boot")


def make_loose_folder(n: int, jpeg: bool) -> tuple[str, list[int]]:
    """A folder of ``n`` loose images and their true classes (reused when complete)."""
    import numpy as np
    from PIL import Image

    import make_sample

    out = os.path.join(tempfile.gettempdir(), f"workbench-bench-loose-{'jpeg' if jpeg else 'png'}-{n}")
    marker = out + ".complete.json"
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as f:
            return out, json.load(f)["labels"]
    os.makedirs(out, exist_ok=True)
    xs, ys = [], []
    for part in ("t10k", "train"):
        x, y = make_sample.load_fashion_mnist(make_sample.DEFAULT_SRC, part)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    rng = np.random.default_rng(0)
    for i in range(n):
        path = os.path.join(out, f"img_{i:05d}.{'jpg' if jpeg else 'png'}")
        if jpeg:   # a photo-sized image: the item on a noisy coloured background
            big = np.asarray(Image.fromarray(x[i]).resize((768, 768), Image.BILINEAR))
            canvas = rng.integers(0, 80, (768, 1024, 3), dtype=np.uint8)
            canvas[:, 128:896] = np.maximum(canvas[:, 128:896], big[:, :, None])
            Image.fromarray(canvas).save(path, quality=90)
        else:
            Image.fromarray(x[i]).save(path)
    labels = [int(v) for v in y]
    with open(marker, "w", encoding="utf-8") as f:
        json.dump({"labels": labels}, f)
    return out, labels


def prelabel(folder: str, labels: list[int], n: int) -> None:
    """Label the last ``n`` images in the folder's overlay (so every press rewrites a big file)."""
    from training.data.overlay import LabelOverlay

    ov = LabelOverlay(root=folder)
    for name in FASHION:
        ov.add_class(name, [])
    names = sorted(os.listdir(folder))
    for name in names[len(names) - n:]:
        ov.labels[name] = FASHION[labels[int(name[4:9])]]
    ov.save()


def run(args) -> dict:
    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from workbench import collector
    from workbench.actions.fixes import class_keys
    from workbench.itemmodels.thumbnails import PathRole
    from workbench.mainwindow import MainWindow

    folder, truth = make_loose_folder(args.images, args.jpeg)
    import shutil

    shutil.rmtree(os.path.join(folder, ".workbench"), ignore_errors=True)
    if args.prelabelled:
        prelabel(folder, truth, args.prelabelled)
    app = QApplication.instance() or QApplication(["bench"])
    collector.install(app)
    window = MainWindow(probe_device=False)
    window.resize(1280, 800)
    window.show()
    window.show_panel("data")
    panel = window.panels["data"]
    t_open = time.perf_counter()
    window.open_dataset(folder)
    assert common.qt_wait(lambda: panel.state.dataset is not None and not panel.pending_work(), 120)
    opened_s = time.perf_counter() - t_open
    view = panel.labelling
    assert view.is_active(), "a loose folder opens in the labelling view"
    if not args.prelabelled:
        for name in FASHION:
            view.add_class(name)
    key_of = {c: k for k, c in class_keys(view.fixes.classes).items()}
    painted: list = []

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and panel.preview._pixmap is not None:
                painted.append((time.perf_counter(), panel.grid.currentIndex().data(PathRole)))
            return False

    spy = PaintSpy()
    panel.preview.image.installEventFilter(spy)
    results = {}
    done = 0
    cpu0 = common.cpu_seconds()
    for pace_name, pace_ms in (("paced", args.pace_ms), ("held down", 0)):
        times, hits = [], 0
        for _ in range(args.presses):
            current = panel.grid.currentIndex().data(PathRole)
            cls = FASHION[truth[int(os.path.basename(current)[4:9])]]
            if pace_ms:
                common.qt_wait(lambda: False, pace_ms / 1000)
            ahead = set(view.previews)
            painted.clear()
            t0 = time.perf_counter()
            QTest.keyClick(panel.grid, getattr(Qt.Key, f"Key_{key_of[cls]}"))
            target = panel.grid.currentIndex().data(PathRole)
            hits += target in ahead
            ok = common.qt_wait(lambda t=target: any(p == t for _t, p in painted), 10)
            if not ok:
                raise RuntimeError(f"the next image ({target}) was not painted within 10 s")
            times.append((next(t for t, p in painted if p == target) - t0) * 1000)
            done += 1
        p50, p95 = common.percentiles(times, (50, 95))
        results[pace_name] = {"presses": len(times), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
                              "max_ms": round(max(times), 1), "pace_ms": pace_ms,
                              "preview_decoded_ahead": hits}
    cpu = common.cpu_seconds() - cpu0
    labelled = len(view.fixes.overlay.labels)
    window.shutdown()
    from workbench import compute

    compute.shutdown()
    return {"images": args.images, "format": "jpeg 1024x768" if args.jpeg else "png 28x28",
            "prelabelled": args.prelabelled, "open_s": round(opened_s, 2), "labelled": labelled,
            "cpu_s": round(cpu, 1), "peak_rss_mb": round(common.peak_rss_mb(), 0),
            "results": results, "machine": common.machine_line()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--presses", type=int, default=200)
    p.add_argument("--pace-ms", type=int, default=250)
    p.add_argument("--prelabelled", type=int, default=0)
    p.add_argument("--jpeg", action="store_true", help="generated 1024x768 JPEG photos")
    p.add_argument("--prepare", action="store_true", help="only write the image folder")
    args = p.parse_args()
    if args.prepare:
        print(make_loose_folder(args.images, args.jpeg)[0])
        return 0
    out = run(args)
    rows = [[name, r["presses"], r["pace_ms"], r["p50_ms"], r["p95_ms"], r["max_ms"],
             r["preview_decoded_ahead"], common.verdict(r["p95_ms"] <= 50)]
            for name, r in out["results"].items()]
    print(common.table(["pace", "presses", "pause ms", "p50 ms", "p95 ms", "max ms",
                        "decoded ahead", "p95 ≤ 50 ms"], rows))
    print(f"{out['images']:,} loose {out['format']} images, {out['prelabelled']:,} labelled before; "
          f"opened in {out['open_s']} s; CPU {out['cpu_s']} s; peak RSS {out['peak_rss_mb']:.0f} MB")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
