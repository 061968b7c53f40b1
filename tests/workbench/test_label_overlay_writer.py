"""The label overlay is written off the GUI thread (issue 23): a key press hands a plain
snapshot to the writer thread, and no label is lost when the app is closed right after
the last key press (the close waits for the write) or killed soon after it. Real app
processes (offscreen), real files; the dataset is reopened by the core afterwards."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.childcall import ROOT
from tests.imagegen import class_image, write_image
from tests.workbench.panels import panel_fixture
from training.data import DatasetSpec, open_dataset
from training.data.overlay import load_overlay

panel = panel_fixture("panel", "workbench.panels.dataset.DatasetPanel", size=(1100, 700),
                      show=True)

APP = textwrap.dedent(r"""
    import os, sys, time
    sys.path.insert(0, sys.argv[1])
    import faulthandler
    faulthandler.enable()
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    folder, presses, then = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    app = QApplication([])
    from workbench import collector
    collector.install(app)
    from workbench.mainwindow import MainWindow

    window = MainWindow(probe_device=False)
    window.resize(1280, 800)
    window.show()
    window.open_dataset(folder)
    panel = window.panels["data"]
    deadline = time.monotonic() + 60
    while (panel.state.dataset is None or panel.pending_work()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.01)
    if "x" not in panel.labelling.fixes.classes:
        panel.labelling.add_class("x")
    panel.grid.setFocus()
    for _ in range(presses):   # as fast as the app takes them: a key held down
        QTest.keyClick(panel.grid, Qt.Key.Key_1)
    if then == "close":
        window.close()   # right after the last press
        print("closed", flush=True)
        sys.exit(0)
    t = time.monotonic()
    while time.monotonic() - t < 0.3:   # the person looks at the next image...
        app.processEvents()
        time.sleep(0.005)
    print("pressed", flush=True)
    time.sleep(60)   # ...and the app is killed
""")


def _photos(root, n=12):
    for i in range(n):
        write_image(root / f"img_{i:03d}.png", class_image(i % 3, 16))
    return root


def _app(root, presses, then):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, "-c", APP, str(ROOT), str(root), str(presses), then],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _labelled(root) -> set[str]:
    """Reopened by the core: the images the overlay gives class x."""
    index = open_dataset(DatasetSpec(path=str(root)))
    x = index.classes.index("x")
    return {os.path.basename(p) for p, lab in zip(index.paths, index.labels) if lab == x}


def test_labels_given_right_before_closing_are_on_disk(tmp_path):
    root = _photos(tmp_path / "photos")
    # A big label file (labels of 20,000 images elsewhere in the folder's history): each
    # write takes long enough that closing without waiting for it would lose the last.
    overlay = load_overlay(str(root))
    overlay.add_class("x", [])
    overlay.labels.update({f"gone/img_{i:05d}.png": "x" for i in range(20000)})
    overlay.save()
    proc = _app(root, 8, "close")
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0 and "closed" in out, err[-3000:]
    assert _labelled(root) == {f"img_{i:03d}.png" for i in range(8)}


def test_a_label_survives_the_app_being_killed_after_the_key_press(tmp_path):
    root = _photos(tmp_path / "photos")
    proc = _app(root, 3, "kill")
    try:
        line = proc.stdout.readline()
        assert line.strip() == "pressed", proc.stderr.read()[-3000:] if proc.poll() is not None else line
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert _labelled(root) == {"img_000.png", "img_001.png", "img_002.png"}


def test_the_overlay_is_written_on_the_writer_thread_not_the_gui_thread(qtbot, panel, tmp_path,
                                                                         monkeypatch):
    import training.data.overlay as overlay_module
    from workbench.workers.overlay_writer import flush, writer

    threads = []
    real = overlay_module.write_snapshot

    def spy(snapshot):
        threads.append(threading.current_thread().name)
        return real(snapshot)

    monkeypatch.setattr(overlay_module, "write_snapshot", spy)
    root = _photos(tmp_path / "photos", n=6)
    with qtbot.waitSignal(panel.state.datasetChanged, timeout=20000):
        assert panel.open_path(str(root))
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=20000)
    panel.labelling.add_class("x")
    before = writer().writes
    panel.grid.setFocus()
    for _ in range(4):
        QTest.keyClick(panel.grid, Qt.Key.Key_1)
    assert flush(10)
    assert threads and set(threads) == {"overlay-writer"}
    assert 1 <= writer().writes - before <= 5   # a write per press at most (coalesced)
    overlay = load_overlay(str(root))
    assert sorted(overlay.labels) == [f"img_{i:03d}.png" for i in range(4)]
    assert set(overlay.labels.values()) == {"x"}


def test_flush_waits_for_the_write_in_progress(tmp_path):
    """What closing relies on: ``flush`` returns once the file handed over is on disk."""
    from workbench.workers.overlay_writer import OverlayWriter

    root = _photos(tmp_path / "photos", n=2)
    overlay = load_overlay(str(root))
    overlay.add_class("x", [])
    overlay.labels.update({f"gone/img_{i:05d}.png": "x" for i in range(50000)})
    w = OverlayWriter()
    w.save(overlay)   # a write of ~2 MB: still running when save() returns
    assert w.pending()
    assert w.flush(30) and not w.pending() and w.writes == 1
    assert len(load_overlay(str(root)).labels) == 50000


def test_one_writer_thread_serves_a_held_key_and_ends_when_idle(tmp_path):
    """Starting a thread blocks its caller until the thread runs (5-10 ms of the GUI
    thread's time per key press on loaded cores): saves that follow each other are
    handed to the waiting thread, which ends once nothing came for ``linger_s``."""
    from workbench.workers.overlay_writer import OverlayWriter

    root = _photos(tmp_path / "photos", n=3)
    overlay = load_overlay(str(root))
    overlay.add_class("x", [])
    w = OverlayWriter(linger_s=2.0)
    seen = set()
    for i in range(3):
        overlay.labels[f"img_{i:03d}.png"] = "x"
        w.save(overlay)
        seen.add(w.thread())
        assert w.flush(10)
    assert len(seen) == 1 and None not in seen   # the same thread each time
    thread = seen.pop()
    thread.join(10)
    assert not thread.is_alive() and w.thread() is None
    assert w.writes == 3 and _labelled(root) == {f"img_{i:03d}.png" for i in range(3)}
    overlay.labels.pop("img_002.png")
    w.save(overlay)   # a new thread after the idle one ended
    assert w.flush(10) and _labelled(root) == {"img_000.png", "img_001.png"}
