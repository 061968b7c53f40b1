"""Application entry point: ``main(argv)`` parses the command line, shows the window
(before TensorFlow is imported) and, with ``--screenshot``, saves a PNG and exits."""
from __future__ import annotations

import argparse
import os
import sys
import time

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QApplication

from training.logs import route_native_stderr, setup_logging
from workbench import collector, compute
from workbench.mainwindow import PANEL_KEYS, MainWindow
from workbench.appstate.session_restore import reopen_last_dataset, reopen_last_run

SCREENSHOT_TIMEOUT_S = 60.0


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="workbench", description="Image Classification Workbench")
    p.add_argument("--dataset", metavar="PATH", help="open this dataset on start")
    p.add_argument("--run", metavar="RUN_DIR", help="open this run folder on start")
    p.add_argument("--panel", choices=PANEL_KEYS, help="show this panel on start")
    p.add_argument("--tab", metavar="NAME",
                   help="show this tab of the panel on start (Results: evaluation, data health, map)")
    p.add_argument("--classify", metavar="PATH", nargs="+",
                   help="classify these photos or folders with the run (Classify panel)")
    p.add_argument("--no-restore", action="store_true",
                   help="do not reopen the last dataset")
    p.add_argument("--screenshot", metavar="OUT.png",
                   help="save a PNG of the window once everything is drawn, then exit")
    p.add_argument("--size", metavar="WxH", type=_size, default=None,
                   help="window size, e.g. 1024x640 (the minimum supported) or 1920x1080")
    return p.parse_args(argv)


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH such as 1024x640. Received: {text!r}") from None
    if w < 200 or h < 200:
        raise argparse.ArgumentTypeError(f"expected at least 200x200. Received: {text!r}")
    return w, h


class _Screenshotter(QObject):
    """Polls (with a QTimer, not a processEvents loop) until no visible panel has pending
    work, then grabs the window. Grabbing paints the views, which is what requests the
    visible thumbnails, so "idle" must hold across two grabs in a row."""

    def __init__(self, window: MainWindow, out: str, extra_panels: list[str]):
        super().__init__(window)
        self.window = window
        self.out = out
        self.watch = extra_panels
        self.deadline = time.monotonic() + SCREENSHOT_TIMEOUT_S
        self.idle_ticks = 0
        self.result = 1
        self.timer = QTimer(self, interval=250)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _busy(self) -> bool:
        if self.window.device_probe_running():
            return True   # so the status bar shows the device, not "loading…"
        keys = {self.window.current_panel_key(), *self.watch}
        if any(self.window.panels[k].pending_work() for k in keys if k in self.window.panels):
            return True
        charts = sys.modules.get("workbench.charts.base")   # None: no chart was ever made
        if charts is None:
            return False
        pending = getattr(charts, "pending_renders", None)
        # None: the background import of the heavy modules is still running it
        return pending is None or pending(self.window)

    @Slot()
    def _tick(self) -> None:
        timed_out = time.monotonic() > self.deadline
        pixmap = self.window.grab()
        if self._busy() and not timed_out:
            self.idle_ticks = 0
            return
        self.idle_ticks += 1
        if self.idle_ticks < 3 and not timed_out:
            return
        self.timer.stop()
        if timed_out:
            print(f"warning: panels still busy after {SCREENSHOT_TIMEOUT_S:.0f} s; "
                  "saving the window as it is", file=sys.stderr)
        os.makedirs(os.path.dirname(os.path.abspath(self.out)), exist_ok=True)
        ok = pixmap.save(self.out, "PNG")
        if not ok:
            print(f"error: could not write the screenshot to {self.out}", file=sys.stderr)
        self.result = 0 if ok else 1
        self.window.close()
        QApplication.instance().exit(self.result)


def main(argv: list[str] | None = None) -> int:
    """Run the app. Returns the process exit code."""
    args = parse_args(sys.argv[1:] if argv is None else list(argv))
    # A quiet terminal: TensorFlow's, absl's and Qt's notices go to native.log in the log
    # folder, Python warnings and log records to workbench.log (issue 22 item 12).
    route_native_stderr()
    setup_logging(console=False)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "workbench"])
    collector.install(app)   # garbage collection on the GUI thread only (workbench/collector.py)
    app.setApplicationName("Image Classification Workbench")
    app.setOrganizationName("ImageWorkbench")
    # TensorFlow is only needed for a run, model or training view; a data-panel screenshot
    # must not import it at all (it is also a start-up-time check).
    needs_tf = not args.screenshot or bool(args.run) or (args.panel not in (None, "data"))
    window = MainWindow(probe_device=needs_tf)
    if args.panel:
        window.show_panel(args.panel)
    elif args.screenshot:
        window.show_panel("data")
    if args.size:
        window.resize(*args.size)
    elif args.screenshot:
        window.resize(1280, 800)
    window.show()
    if args.dataset:
        window.open_dataset(args.dataset)
        if args.panel:
            window.show_panel(args.panel)
    elif not args.screenshot and not args.no_restore:
        reopen_last_dataset(window)   # in the background; Cancel on the Dataset panel
    if not args.run and not args.screenshot and not args.no_restore:
        reopen_last_run(window)       # the last run, or a newer unfinished one (Resume)
    if args.run:
        window.state.set_run(os.path.abspath(args.run))
        window.show_panel(args.panel or "results")
    if args.tab:
        show_tab(window, args.tab)
    if args.classify:
        window.show_panel("classify")
        window.panels["classify"].classify([os.path.abspath(p) for p in args.classify])
    shooter = None
    if args.screenshot:
        shooter = _Screenshotter(window, args.screenshot, ["data"] if args.dataset else [])
    code = app.exec()
    window.shutdown()
    compute.shutdown()   # the compute service ends with the app (it would also see its pipe close)
    from workbench.workers.children import kill_all

    kill_all()   # the last resort: no child process outlives the app
    return shooter.result if shooter is not None else code


def show_tab(window, name: str) -> bool:
    """Show the tab called ``name`` (any case) of a tab widget in the current panel."""
    from PySide6.QtWidgets import QTabWidget

    panel = window.panels.get(window.current_panel_key())
    for tabs in panel.findChildren(QTabWidget) if panel is not None else []:
        for i in range(tabs.count()):
            if tabs.tabText(i).replace("&", "").lower() == name.lower():
                tabs.setCurrentIndex(i)
                return True
    print(f"warning: no tab {name!r} on this panel", file=sys.stderr)
    return False


if __name__ == "__main__":
    sys.exit(main())
