"""The Map view's GUI-thread costs at 70,000 points (``bench/embedding_map.py gui``).

Pan and zoom: 60 view changes, each followed by a full paint of the widget (``grab()``),
for the Map view (pyqtgraph, one scatter item per colour) and, side by side, a plain
matplotlib scatter redrawn on a FigureCanvasAgg of the same size (what the charts use).
Hover: the KD-tree pick of the point under the mouse and the thumbnail shown next to it
(the Map tab's own code, on Fashion-MNIST's in-memory images). The run's map must be
cached (``python -m training map RUN --out map.csv`` does it).
"""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1280, 800)


def _frames(setrange, paint, n: int = 60) -> list[float]:
    out = []
    for i in range(n):
        s = 1.0 - 0.012 * i
        setrange(s, 0.03 * i)
        t = time.perf_counter()
        paint()
        out.append((time.perf_counter() - t) * 1000)
    return out


def _drain(view) -> list[float]:
    """Add the pending pieces of points one by one (as the event loop would), timing each."""
    out = []
    view._timer.stop()
    while view.drawing():
        t = time.perf_counter()
        view._add_next()
        view._timer.stop()
        out.append((time.perf_counter() - t) * 1000)
    return out


def gui(run_dir: str) -> None:
    from PySide6.QtWidgets import QApplication

    from bench.common import cpu_seconds, fmt, peak_rss_mb, table
    from training.embedmap.projection import read_map
    from training.embedmap.store import open_run_features
    from training.runs.runfolder import RunFolder

    app = QApplication.instance() or QApplication([])
    store = open_run_features(run_dir)
    cached = read_map(store)
    if cached is None or cached["final"] is None:
        raise SystemExit(f"No cached UMAP map in {run_dir}: run `python -m training map` first")
    xy = cached["final"]
    t0 = time.perf_counter()
    import workbench.widgets.map_view  # noqa: F401  (pyqtgraph and scipy.spatial: the tab's first show)

    import_s = time.perf_counter() - t0
    from workbench.appstate.state import AppState
    from workbench.panels.results_map import MapTab

    state = AppState()
    index, _ = RunFolder(run_dir).open_dataset()
    state.set_dataset(index.spec, index)
    panel = SimpleNamespace(state=state, health=SimpleNamespace(report=None),
                            detail=SimpleNamespace(show_item=lambda *a, **k: None))
    tab = MapTab(panel)
    tab.resize(*SIZE)
    tab.show()
    from training.service.handlers.embedding_map import points

    tab.run_dir = tab.loaded_run = run_dir
    tab._on_points(points(store))
    tab.ensure_view()
    t0 = time.perf_counter()
    tab._show_xy(xy, "UMAP")
    first_s = time.perf_counter() - t0
    view = tab.view
    ticks = _drain(view)
    all_s = time.perf_counter() - t0
    app.processEvents()
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    mid, half = ((lo + hi) / 2).astype(float), ((hi - lo) / 2).astype(float)

    def pg_range(s, shift):
        view.box.setRange(xRange=(mid[0] - half[0] * s + shift, mid[0] + half[0] * s + shift),
                          yRange=(mid[1] - half[1] * s, mid[1] + half[1] * s), padding=0)

    view.grab()
    cpu0 = cpu_seconds()
    pg_ms = _frames(pg_range, view.grab)
    pg_cpu = cpu_seconds() - cpu0
    t0 = time.perf_counter()
    tab.color_by.setCurrentText("Correct / wrong")
    recolor_ms = (time.perf_counter() - t0) * 1000
    ticks += _drain(view)
    view.grab()

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(view.width() / 100, view.height() / 100), dpi=100)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    import matplotlib

    ax.scatter(xy[:, 0], xy[:, 1], s=4, c=matplotlib.colormaps["tab10"](store.labels % 10),
               linewidths=0)

    def mpl_range(s, shift):
        ax.set_xlim(mid[0] - half[0] * s + shift, mid[0] + half[0] * s + shift)
        ax.set_ylim(mid[1] - half[1] * s, mid[1] + half[1] * s)

    canvas.draw()
    cpu0 = cpu_seconds()
    mpl_ms = _frames(mpl_range, canvas.draw, n=20)
    mpl_cpu = cpu_seconds() - cpu0

    # Hover: pick (KD-tree) + thumbnail, over 200 random points, cache cleared each time.
    pg_range(1.0, 0.0)
    view.grab()
    rng = np.random.default_rng(0)
    pick_ms, hover_ms = [], []
    for i in rng.choice(len(xy), 200, replace=False):
        tab._hover_cache.clear()
        t = time.perf_counter()
        j = view.nearest(float(xy[i, 0]), float(xy[i, 1]))
        pick_ms.append((time.perf_counter() - t) * 1000)
        view.hover = j
        t = time.perf_counter()
        tab._on_hover(j)
        hover_ms.append((time.perf_counter() - t) * 1000 + pick_ms[-1])
    # The linear scan the KD-tree replaces, for scale.
    t = time.perf_counter()
    for i in range(20):
        np.argmin(((xy - xy[i]) ** 2).sum(axis=1))
    scan_ms = (time.perf_counter() - t) * 1000 / 20

    def p(v, q):
        return float(np.percentile(v, q))

    print(f"plot modules import (first show of the tab) {import_s:.2f} s; map shown (first piece) in {first_s * 1000:.0f} ms, "
          f"all {len(xy):,} points in {all_s:.2f} s; recolour call {recolor_ms:.0f} ms; "
          f"longest piece added per event-loop turn {max(ticks):.1f} ms (p50 {p(ticks, 50):.1f})")
    print(table(["measure (70,000 points, 1280x800)", "p50 ms", "p95 ms", "CPU s"], [
        ["pan/zoom frame, Map view (pyqtgraph)", fmt(p(pg_ms, 50), 1), fmt(p(pg_ms, 95), 1), fmt(pg_cpu)],
        ["pan/zoom frame, plain matplotlib scatter (Agg)", fmt(p(mpl_ms, 50), 1), fmt(p(mpl_ms, 95), 1),
         fmt(mpl_cpu)],
        ["hover pick, KD-tree", fmt(p(pick_ms, 50), 3), fmt(p(pick_ms, 95), 3), ""],
        ["hover pick, numpy linear scan (baseline)", fmt(scan_ms, 2), "", ""],
        ["hover -> thumbnail shown", fmt(p(hover_ms, 50), 2), fmt(p(hover_ms, 95), 2), ""]]))
    print(f"Peak RSS {peak_rss_mb():.0f} MB")
    tab.shutdown()
    tab.close()
