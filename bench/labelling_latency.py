"""Key press → next image shown, in the Dataset panel's labelling view (issue 23).

    python bench/labelling_latency.py [--images 10000] [--presses 200] [--pace-ms 250]
                                      [--prelabelled 0] [--no-label-next]
                                      [--jpeg [--photo 4000x3000]]

The real main window (offscreen) opens a folder of ``--images`` loose images (Fashion-MNIST
test and training images written as PNGs, or with ``--jpeg`` generated JPEG photos,
1024x768 or ``--photo WxH``, e.g. 4000x3000 as a phone's 12 MP photos), which opens in the
labelling view; ten classes are made. A simulated labeller then presses the key of each
image's true class ``--presses`` times. For each press the time from just before the key
event is sent to the moment the large preview is painted with the next image is recorded
(an event filter on the preview sees the paint): "shown" is the first picture of it
(while a key is held down on photos that decode slower than the key repeats, that can be
the grid's thumbnail scaled up), "sharp" the preview decoded for the box; and whether
that preview had been decoded ahead. Two paces: ``--pace-ms`` between presses (a person
labelling quickly; the sharp preview is waited for during the pause), and no pause at
all (a key held down: the next press as soon as the image is shown); after the held-down
presses, the time from the last press until its image is sharp. "Key handler" is the
time until the key event's handling returns (label, overlay handed to its writer, next
image selected); the rest until "shown" is the event loop reaching the paint. Target:
p95 ≤ 50 ms.
``--prelabelled N`` starts with N images labelled already (a bigger label file). As in the
app, "Label next" trains and ranks in the compute service once every class has a few
labels; when a round ends its queue takes the selection, and that press counts the paint
of the image then selected (``moved_by_label_next`` in the JSON); how many rounds ended
during each pace is counted (under load the background service may finish none, and then
no queue refill is measured), with the time of the first press after each
(``first_after_round_ms``). ``--no-label-next``
switches it off (with thousands of labels a round starts at once; keys held down then go
through its ranking, then the unlabelled images in grid order, until the next round ends).

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


def _big_photo(item, w: int, h: int, rng):
    """A ``w`` x ``h`` photo-like JPEG subject: smooth colour areas with sensor-like noise
    (a 4000x3000 one is ~3.4 MB at quality 90, as a phone's photo) and the item in the middle."""
    import numpy as np
    from PIL import Image

    small = rng.integers(0, 160, (h // 40 + 1, w // 40 + 1, 3), dtype=np.uint8)
    canvas = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC)).astype(np.int16)
    canvas += rng.integers(-12, 12, (h, w, 3), dtype=np.int16)
    big = np.asarray(Image.fromarray(item).resize((h, h), Image.BILINEAR))
    x0 = (w - h) // 2
    canvas[:, x0:x0 + h] = np.maximum(canvas[:, x0:x0 + h], big[:, :, None])
    return Image.fromarray(np.clip(canvas, 0, 255).astype(np.uint8))


def make_loose_folder(n: int, jpeg: bool, photo: str = "1024x768") -> tuple[str, list[int]]:
    """A folder of ``n`` loose images and their true classes (reused when complete)."""
    import numpy as np
    from PIL import Image

    import make_sample

    pw, ph = (int(v) for v in photo.split("x"))
    kind = ("jpeg" if (pw, ph) == (1024, 768) else f"jpeg{pw}x{ph}") if jpeg else "png"
    out = os.path.join(tempfile.gettempdir(), f"workbench-bench-loose-{kind}-{n}")
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
        if jpeg and (pw, ph) != (1024, 768):
            _big_photo(x[i], pw, ph, rng).save(path, quality=90)
        elif jpeg:   # a photo-sized image: the item on a noisy coloured background
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

    folder, truth = make_loose_folder(args.images, args.jpeg, args.photo)
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
    # With enough labels already, "opened" waits for the first Label next round too (a
    # background job in the compute service: minutes beside a busy machine).
    assert common.qt_wait(lambda: panel.state.dataset is not None and not panel.pending_work(),
                          600 if args.prelabelled else 120)
    opened_s = time.perf_counter() - t_open
    view = panel.labelling
    assert view.is_active(), "a loose folder opens in the labelling view"
    if not args.prelabelled:
        for name in FASHION:
            view.add_class(name)
    if args.no_label_next:
        panel.label_next.box.enabled.setChecked(False)
    key_of = {c: k for k, c in class_keys(view.fixes.classes).items()}
    painted: list = []

    class PaintSpy(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint and panel.preview._pixmap is not None:
                path = panel.grid.currentIndex().data(PathRole)
                painted.append((time.perf_counter(), path, view.reduced_path() != path))
            return False

    def shown(target):
        """When ``target`` was painted; or, when a Label next round ended meanwhile and
        moved the selection to its queue's first image, when that image was."""
        now = panel.grid.currentIndex().data(PathRole)
        return next((t for t, p, _s in painted if p in (target, now)), None)

    spy = PaintSpy()
    panel.preview.image.installEventFilter(spy)
    results = {}
    done = 0
    ended: list = []   # when Label next rounds ended (their queue refills the grid)
    panel.label_next.roundFinished.connect(lambda _r: ended.append(time.perf_counter()))
    cpu0 = common.cpu_seconds()
    panel.grid.setFocus()
    print(f"preview box {panel.preview.image.width()}x{panel.preview.image.height()}, "
          f"decoded to fit {view.preview_box()}", file=sys.stderr)
    for pace_name, pace_ms in (("paced", args.pace_ms), ("held down", 0)):
        times, sharp, handled, hits, moved, starts = [], [], [], 0, 0, []
        pace_start = time.perf_counter()
        for _ in range(args.presses):
            current = panel.grid.currentIndex().data(PathRole)
            cls = FASHION[truth[int(os.path.basename(current)[4:9])]]
            ahead = set(view.previews)
            painted.clear()
            t0 = time.perf_counter()
            starts.append(t0)
            QTest.keyClick(panel.grid, getattr(Qt.Key, f"Key_{key_of[cls]}"))
            handled.append((time.perf_counter() - t0) * 1000)   # the key's handler returned
            target = panel.grid.currentIndex().data(PathRole)
            hits += target in ahead
            ok = common.qt_wait(lambda t=target: shown(t) is not None, 10)
            if not ok:
                raise RuntimeError(f"the next image ({target}) was not painted within 10 s")
            times.append((shown(target) - t0) * 1000)
            now = panel.grid.currentIndex().data(PathRole)
            if now != target:   # a Label next round ended and its queue took the selection
                moved += 1
                target = now
            if pace_ms:   # a person looks at it: the sharp preview may follow in the pause
                common.qt_wait(lambda: False, pace_ms / 1000)
            at = [t for t, p, s in painted if p == target and s]
            if at:
                sharp.append((at[0] - t0) * 1000)
            done += 1
        p50, p95 = common.percentiles(times, (50, 95))
        row = {"presses": len(times), "p50_ms": round(p50, 1), "p95_ms": round(p95, 1),
               "max_ms": round(max(times), 1), "pace_ms": pace_ms,
               "preview_decoded_ahead": hits, "sharp_by_next_press": len(sharp),
               "handler_p95_ms": round(common.percentiles(handled, (95,))[0], 1),
               "moved_by_label_next": moved,
               "rounds_ended": sum(1 for t in ended if t >= pace_start),
               # the first press after each round's end: the one a refilled grid would cost
               "first_after_round_ms": [round(times[i], 1) for i in sorted(
                   {next((i for i, t in enumerate(starts) if t > e), None) for e in ended if e >= pace_start}
                   - {None})]}
        if sharp:
            s50, s95 = common.percentiles(sharp, (50, 95))
            row.update(sharp_p50_ms=round(s50, 1), sharp_p95_ms=round(s95, 1))
        if not pace_ms:   # the keys stop: how long until the last image is sharp
            ok = common.qt_wait(lambda t=target: any(p == t and s for _t, p, s in painted), 10)
            row["sharp_after_stop_ms"] = round(
                (next(t for t, p, s in painted if p == target and s) - t0) * 1000, 1) if ok else None
            common.qt_wait(lambda: not panel.pending_work(), 10)
        results[pace_name] = row
    cpu = common.cpu_seconds() - cpu0
    labelled = len(view.fixes.overlay.labels)
    window.shutdown()
    from workbench import compute

    compute.shutdown()
    return {"images": args.images, "format": f"jpeg {args.photo}" if args.jpeg else "png 28x28",
            "prelabelled": args.prelabelled, "label_next": not args.no_label_next, "open_s": round(opened_s, 2), "labelled": labelled,
            "cpu_s": round(cpu, 1), "peak_rss_mb": round(common.peak_rss_mb(), 0),
            "results": results, "machine": common.machine_line()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=10000)
    p.add_argument("--presses", type=int, default=200)
    p.add_argument("--pace-ms", type=int, default=250)
    p.add_argument("--prelabelled", type=int, default=0)
    p.add_argument("--no-label-next", action="store_true", help="switch Label next off")
    p.add_argument("--jpeg", action="store_true", help="generated JPEG photos (see --photo)")
    p.add_argument("--photo", default="1024x768", help="the JPEG photos' size, WxH")
    p.add_argument("--prepare", action="store_true", help="only write the image folder")
    args = p.parse_args()
    if args.prepare:
        print(make_loose_folder(args.images, args.jpeg, args.photo)[0])
        return 0
    try:
        out = run(args)
    finally:   # a failed run must not leave the compute service behind
        from workbench import compute

        compute.shutdown()
    rows = [[name, r["presses"], r["pace_ms"], r["p50_ms"], r["p95_ms"], r["max_ms"],
             r["preview_decoded_ahead"], r["sharp_by_next_press"], r.get("sharp_p95_ms", "-"),
             r.get("sharp_after_stop_ms", "-"), r["handler_p95_ms"], r["rounds_ended"],
             common.verdict(r["p95_ms"] <= 50)]
            for name, r in out["results"].items()]
    print(common.table(["pace", "presses", "pause ms", "shown p50 ms", "shown p95 ms", "max ms",
                        "decoded ahead", "sharp by next press", "sharp p95 ms",
                        "sharp after keys stop ms", "key handler p95 ms", "Label next rounds ended",
                        "p95 ≤ 50 ms"], rows))
    print(f"{out['images']:,} loose {out['format']} images, {out['prelabelled']:,} labelled before; "
          f"opened in {out['open_s']} s; CPU {out['cpu_s']} s; peak RSS {out['peak_rss_mb']:.0f} MB")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
