"""Garbage collection on the GUI thread only, and pool jobs that hand plain data back
to the GUI thread (workbench/collector.py, workbench/workers/pool.py)."""
import gc
import threading
import weakref

from tests.workbench.panels import run_job
from workbench.workers.pool import PoolWorker, app_pool, held_workers


class _Cycle:
    def __init__(self):
        self.me = self


def test_the_collector_is_off_and_cycles_die_on_the_gui_thread(qtbot, gui_collector):
    assert not gc.isenabled()   # no collection can start on a pool thread
    app_pool()
    # A tick after imports freezes what is young then, garbage-to-be included (see
    # workbench/collector.py): run it now, before this test's garbage exists (run alone,
    # this test's own imports came just before).
    gui_collector.check()
    died_on = []
    gui = threading.get_ident()

    def make_garbage():
        for _ in range(2000):   # enough allocations to pass generation 0's threshold
            obj = _Cycle()
            weakref.finalize(obj, lambda: died_on.append(threading.get_ident()))
            del obj

    app_pool().submit(make_garbage).result(timeout=30)
    qtbot.waitUntil(lambda: len(died_on) == 2000, timeout=10_000)
    assert set(died_on) == {gui}
    assert gui_collector.off_thread == 0
    assert gui_collector.collections > 0


def test_what_an_import_made_is_frozen_at_the_next_tick(qtbot, gui_collector):
    """Imports make objects that live until exit (TensorFlow's ~1 M made collections
    take ~200 ms): the collector freezes them instead of walking them again and again."""
    import importlib
    import sys

    from workbench.collector import GuiCollector

    fresh = next(m for m in ("pydoc_data.topics", "xml.dom.minidom", "tomllib", "mailbox", "imaplib")
                 if m not in sys.modules)
    own = GuiCollector(interval_ms=3_600_000)   # ticked by hand below
    try:
        before = gc.get_freeze_count()
        importlib.import_module(fresh)
        own.check()
        assert own.freezes == 1 and gc.get_freeze_count() > before
        own.check()   # nothing new imported: no second freeze
        assert own.freezes == 1
    finally:
        own.stop()
        gc.disable()   # the session's collector keeps automatic collection off


class _Echo(PoolWorker):
    def __init__(self, n):
        super().__init__()
        self.n, self.threads = n, []

    def work(self):
        self.threads.append(threading.get_ident())
        for i in range(self.n):
            self.events.on_progress(i + 1, self.n, "counting")
        self.events.on_status("counted")
        return {"n": self.n}


def test_a_pool_job_runs_off_the_gui_thread_and_reports_on_it(qtbot):
    gui = threading.get_ident()
    job = _Echo(5)
    seen = []
    job.status.connect(lambda m: seen.append(("status", threading.get_ident())))
    job.progress.connect(lambda d, t, w: seen.append(("progress", threading.get_ident())))
    assert run_job(qtbot, job) == ("finished", {"n": 5})
    assert job.threads and job.threads[0] != gui
    assert seen and {t for _k, t in seen} == {gui}
    qtbot.waitUntil(lambda: held_workers() == 0, timeout=5000)   # let go on the GUI thread


class _Fails(PoolWorker):
    def work(self):
        raise ValueError("the file /x/y.png is not an image")


def test_a_failing_pool_job_says_why(qtbot):
    assert run_job(qtbot, _Fails()) == ("failed", "the file /x/y.png is not an image")


def test_pool_callbacks_run_in_slices_and_drain_runs_them_all(qtbot, monkeypatch):
    # A run's end delivers several results at once; run back to back they kept the GUI
    # thread busy for one long stretch. Each wake-up runs callbacks for at most SLICE_S.
    from workbench.workers import pool as pool_module

    monkeypatch.setattr(pool_module, "SLICE_S", 0.0)   # one callback per wake-up
    pool = pool_module.Pool(threads=1)
    ran = []
    for i in range(3):
        pool.post(ran.append, i)
    pool._drain()   # what the socket notifier calls
    assert ran == [0]
    qtbot.waitUntil(lambda: len(ran) == 3, timeout=5_000)   # the rest on the next passes
    assert ran == [0, 1, 2]   # in order
    for i in range(3, 6):
        pool.post(ran.append, i)
    pool.drain()   # shutdown and synchronous callers: everything at once
    assert ran == [0, 1, 2, 3, 4, 5]
    pool.shutdown()


def test_the_gui_thread_gets_the_gil_back_quickly_beside_a_busy_python_thread(qtbot, gui_collector):
    """Each call from Qt's event loop into Python takes the GIL; beside a thread running
    Python (a chart's draw) a waiter asks for it after one switch interval. With
    Python's default (5 ms) a 2 ms timer's Python slot came ~4 ms late on average
    here; install() sets 1 ms, and it comes ~1 ms late."""
    import sys
    import time

    from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Slot

    from workbench import collector

    collector.install()
    assert sys.getswitchinterval() == collector.SWITCH_INTERVAL_S
    ticks = 100

    class Ticker(QObject):
        def __init__(self):
            super().__init__()
            self.times = []
            self.timer = QTimer(self)
            self.timer.setTimerType(Qt.TimerType.PreciseTimer)
            self.timer.setInterval(2)
            self.timer.timeout.connect(self.tick)

        @Slot()
        def tick(self):
            self.times.append(time.perf_counter())
            if len(self.times) > ticks:
                self.timer.stop()
                loop.quit()

    stop = threading.Event()

    def busy():
        x = 0
        while not stop.is_set():
            for i in range(1000):
                x += i * i

    # A real event loop, as the app runs: it lets go of the GIL while it waits (qtbot's
    # waits keep holding it), so the busy thread has it whenever a tick comes due.
    loop = QEventLoop()
    ticker = Ticker()
    thread = threading.Thread(target=busy, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        ticker.timer.start()
        QTimer.singleShot(10000, loop.quit)
        loop.exec()
    finally:
        stop.set()
        thread.join()
    assert len(ticker.times) > ticks
    late_ms = ((ticker.times[-1] - ticker.times[0]) / ticks - 0.002) * 1000
    assert late_ms < 2.5, f"a tick came {late_ms:.1f} ms late on average"


def test_qt_paints_on_the_gui_thread_alone(qtbot, gui_collector):
    """Qt's raster engine hands parts of large fills and image scaling to its GUI thread
    pool and waits for them; on 2 busy cores the GUI thread then waits for those threads
    to get a core. install() turns that pool off: a large smooth-scaled draw starts no
    pooled thread (it started two here before)."""
    import os

    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QColor, QImage, QPainter

    from workbench import collector

    collector.install()
    source = QImage(800, 600, QImage.Format.Format_RGB32)
    source.fill(QColor(10, 200, 30))
    target = QImage(1600, 1200, QImage.Format.Format_RGB32)
    for _ in range(3):
        painter = QPainter(target)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(0, 0, 1550, 1150), source)
        painter.end()
        source.scaled(1500, 1100, Qt.AspectRatioMode.IgnoreAspectRatio,
                      Qt.TransformationMode.SmoothTransformation)
    names = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                names.append(f.read().strip())
        except OSError:   # a thread that ended meanwhile
            pass
    assert "Thread (pooled)" not in names, names
