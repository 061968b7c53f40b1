"""Dataset browser at scale: the 70,000-image Fashion-MNIST PNG folder in the Dataset panel.

    python bench/browser_scale.py [--data DIR] [--limit N] [--size 1400x900] [--profile]

Runs the real main window offscreen (``QT_QPA_PLATFORM=offscreen``), opens the folder
with ``DatasetPanel.open_path`` (indexing runs in a worker) and measures:

- time until the index is loaded (``AppState.datasetChanged``) and until every thumbnail
  visible in the grid has been decoded and handed to the view (what a person sees);
- time to scroll through every thumbnail: the grid is scrolled one page at a time and
  each page waits until all its visible thumbnails are shown;
- GUI-thread lateness of a 10 ms ``QTimer`` probe during both phases;
- scrolling ``--busy-pages`` pages while another Python thread is busy, with the app's
  grid (a ``PinnedListView``) and with a plain ``QListView`` on the same model: page
  time and lateness, and their ratio;
- peak resident memory of the process.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common


def make_window(size):
    """The app's main window and its Dataset panel, shown, with TensorFlow loaded.

    The window imports TensorFlow in the background after it is shown (device probe);
    a person picks a folder seconds later, so the measurement starts once that is done.
    """
    from workbench.app import MainWindow
    from PySide6.QtWidgets import QApplication

    from workbench import collector
    collector.install(QApplication.instance())   # as app.main() does
    win = MainWindow()
    panel = win.panels["data"]
    win.resize(*size)
    win.show()
    win.show_panel("data")
    common.qt_wait(lambda: not win.device_probe_running(), 120)
    return win, panel


def visible_rows(grid) -> list[int]:
    """Model rows whose cells intersect the grid's viewport.

    Cheap (it runs on the GUI thread while the probe measures it): the grid has uniform
    cells laid out left to right, so the first visible line is computed from the first
    item's position, then visible items are walked.
    """
    model, vp = grid.model(), grid.viewport().rect()
    n = model.rowCount()
    if n == 0:
        return []
    r0 = grid.visualRect(model.index(0, 0))
    cols = 1
    while cols < n and grid.visualRect(model.index(cols, 0)).top() == r0.top():
        cols += 1
    # The real line pitch (grid size plus spacing), from the first item of line two.
    cell_h = (grid.visualRect(model.index(cols, 0)).top() - r0.top()) if cols < n else 0
    cell_h = cell_h if cell_h > 0 else (grid.gridSize().height() or r0.height() or 1)
    row = max(0, (vp.top() - r0.top()) // cell_h - 1) * cols
    # Stop at the first item past the visible ones (items not laid out yet by the
    # batched layout have an empty rect, so "below the viewport" alone is not enough).
    end = min(n, row + (vp.height() // cell_h + 3) * cols)
    rows = []
    while row < end:
        rect = grid.visualRect(model.index(row, 0))
        if rect.intersects(vp):
            rows.append(row)
        elif rows:
            break
        row += 1
    return rows


def all_shown(grid) -> bool:
    from workbench.itemmodels.thumbnails import ThumbnailRole
    model = grid.model()
    rows = visible_rows(grid)
    return bool(rows) and all(model.data(model.index(r, 0), ThumbnailRole) is not None for r in rows)


def plain_view(grid):
    """A plain ``QListView`` configured like the Dataset panel's grid, on its model."""
    from PySide6.QtWidgets import QListView

    view = QListView()
    for attr in ("viewMode", "uniformItemSizes", "layoutMode", "batchSize", "movement",
                 "resizeMode", "iconSize", "gridSize", "textElideMode"):
        getattr(view, "set" + attr[0].upper() + attr[1:])(getattr(grid, attr)())
    view.setModel(grid.model())
    view.resize(grid.size())
    view.show()
    common.qt_wait(lambda: all_shown(view), 30)
    return view


def busy_scroll(view, probe, pages: int, every_ms: int = 60) -> dict:
    """Scroll ``pages`` pages from the top, one every ``every_ms`` (a person paging
    down), while a Python thread is busy; the probe measures the GUI thread meanwhile.

    Returns the probe's lateness and how many thumbnails of the last page were shown.
    """
    from PySide6.QtCore import QTimer

    sb = view.verticalScrollBar()
    sb.setValue(0)
    common.qt_wait(lambda: all_shown(view), 30)
    # Both views start cold: every page scrolled to must be decoded meanwhile.
    view.model()._cache.clear()
    done = {"pages": 0}

    def step():
        sb.setValue(sb.value() + sb.pageStep())
        done["pages"] += 1
        if done["pages"] >= pages:
            timer.stop()

    timer = QTimer()
    timer.setInterval(every_ms)
    timer.timeout.connect(step)
    start = len(probe.late)
    with common.BusyPythonThread():
        timer.start()
        common.qt_wait(lambda: done["pages"] >= pages, 600)
        common.qt_wait(lambda: False, 0.2)   # the last page's paint
    late = probe.late[start:]
    p50, p99 = common.percentiles(late, (50, 99)) if late else (0.0, 0.0)
    return {"ticks": len(late), "p50": p50, "p99": p99, "max": max(late, default=0.0),
            "over30": sum(v > 30 for v in late), "over100": sum(v > 100 for v in late)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default=None, help="a class-folder dataset (default: 70,000 Fashion-MNIST PNGs)")
    p.add_argument("--limit", type=int, default=None, help="write/use only N training images (quick run)")
    p.add_argument("--size", default="1400x900", help="window size")
    p.add_argument("--max-pages", type=int, default=0, help="stop scrolling after N pages (0: all)")
    p.add_argument("--busy-pages", type=int, default=30,
                   help="pages scrolled while another Python thread is busy (per view)")
    p.add_argument("--profile", action="store_true", help="cProfile the GUI thread while opening and scrolling")
    a = p.parse_args(argv)
    t_start = time.perf_counter()
    print(common.machine_line())
    data = a.data
    if data is None:
        data = common.DEFAULT_DATA + "-flat" + (f"-{a.limit}" if a.limit else "")
        info = common.write_fashion_pngs(data, layout="folders", limit=a.limit)
        print(f"Data: {data} ({info['train'] + info['test']} PNGs in 10 class folders)")
    import tempfile
    os.environ.setdefault("WORKBENCH_SETTINGS_DIR", tempfile.mkdtemp(prefix="workbench-bench-settings-"))
    os.environ.setdefault("WORKBENCH_CACHE_DIR", tempfile.mkdtemp(prefix="workbench-bench-cache-"))

    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 (must exist)
    w, h = (int(v) for v in a.size.lower().split("x"))
    win, panel = make_window((w, h))
    common.qt_wait(lambda: False, 0.3)  # let the window settle (first paint)
    rss_before = common.current_rss_mb()

    probe = common.qt_probe(10)
    probe.start()
    open_prof = [] if a.profile else None
    grid = panel.grid
    open_stalls = common.StallSampler(probe)
    open_gcs = common.GcPauses()
    with open_stalls, open_gcs, common.profiled(open_prof, top=25, sort="tottime"):
        t0 = time.perf_counter()
        panel.open_path(data)
        ok = common.qt_wait(lambda: panel.state.dataset is not None, 120)
        t_index = time.perf_counter() - t0
        if ok:
            common.qt_wait(lambda: all_shown(grid), 60)
        t_first = time.perf_counter() - t0
    if not ok:
        print("SUMMARY: FAILED: the dataset was not indexed within 120 s")
        return 1
    n = len(panel.state.dataset)
    open_late = list(probe.late)
    probe.late.clear()
    per_page = len(visible_rows(grid))

    # Scroll page by page through every thumbnail.
    sb = grid.verticalScrollBar()
    common.qt_wait(lambda: False, 0.05)
    pages, t1, page_times, missed = 0, time.perf_counter(), [], 0
    prof = [] if a.profile else None
    scroll_stalls = common.StallSampler(probe)
    scroll_gcs = common.GcPauses()
    with scroll_stalls, scroll_gcs, common.profiled(prof, top=25, sort="tottime"):
        value = 0
        while True:
            sb.setValue(value)
            tp = time.perf_counter()
            if not common.qt_wait(lambda: all_shown(grid), 30):
                missed += 1
            page_times.append((time.perf_counter() - tp) * 1000)
            pages += 1
            if sb.value() >= sb.maximum() or (a.max_pages and pages >= a.max_pages):
                break
            value = sb.value() + sb.pageStep()
    t_scroll = time.perf_counter() - t1
    scroll_late = list(probe.late)
    last_rows = visible_rows(grid)
    reached_end = bool(last_rows) and last_rows[-1] == grid.model().rowCount() - 1
    probe.late.clear()

    # The same scrolling while another Python thread is busy: the app's grid (a
    # PinnedListView) against a plain QListView on the same model, same settings.
    contended = {}
    plain = plain_view(grid)
    for name, view in (("app grid (PinnedListView)", grid), ("plain QListView", plain)):
        contended[name] = busy_scroll(view, probe, a.busy_pages)
    probe.stop()
    plain.close()
    peak = common.peak_rss_mb()

    rows = [
        ["index loaded (datasetChanged)", t_index, "", ""],
        ["first thumbnails shown", t_first, f"{per_page} visible", f"target < 3 s: {common.verdict(t_first < 3)}"],
        [f"scroll through all ({pages} pages)", t_scroll,
         f"{common.percentiles(page_times, (50,))[0]:.0f} ms/page p50", "reached the last image" if reached_end else "did NOT reach the end"],
        ["peak RSS MB", peak, f"{rss_before:.0f} MB before opening", ""],
        ["process start to end s", time.perf_counter() - t_start, "", ""],
    ]
    print()
    print(f"{n:,} images; window {w}x{h}; {per_page} thumbnails per page; pages that timed out: {missed}")
    print(common.table(["measure", "seconds / MB", "detail", "target"], rows))
    print()
    print(common.table(common.LATENESS_HEADERS, [common.lateness_row("open + first thumbnails", open_late),
                                                 common.lateness_row("scrolling", scroll_late)]))
    print(f"\nPaging down {a.busy_pages} pages, one every 60 ms, thumbnails decoded meanwhile, while "
          "another Python thread is busy:")
    base = contended["app grid (PinnedListView)"]["p99"] or 1e-9
    print(common.table(["view", "ticks", "p50 late ms", "p99 late ms", "max late ms", "> 30 ms",
                        "> 100 ms", "p99 vs app grid"],
                       [[k, v["ticks"], v["p50"], v["p99"], v["max"], v["over30"], v["over100"],
                         f"{v['p99'] / base:.1f}x"] for k, v in contended.items()]))
    print("\nWhere the GUI thread was when it was late, opening: " + open_stalls.report())
    print("Garbage collections while opening (any thread; each holds the GIL): " + open_gcs.report())
    print("\nWhere the GUI thread was when it was late, scrolling: " + scroll_stalls.report())
    print("Garbage collections while scrolling: " + scroll_gcs.report())
    if open_prof:
        print("\nGUI-thread profile while opening (cProfile, by own time):\n" + open_prof[0])
    if prof:
        print("\nGUI-thread profile while scrolling (cProfile, by own time):\n" + prof[0])
    win.close()  # shuts every panel's workers down
    scroll_p99 = common.percentiles(scroll_late, (99,))[0]
    print()
    print(common.load_line())
    print(f"SUMMARY: {n:,} images: index {t_index:.2f} s, first thumbnails {t_first:.2f} s "
          f"(target <3 s: {common.verdict(t_first < 3)}), scrolled all {pages} pages in {t_scroll:.1f} s, "
          f"GUI p99 lateness while scrolling {scroll_p99:.1f} ms, peak RSS {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
