"""Helpers shared by the panel tests: make a panel (or a fixture that makes one), wait
until it has no work pending, follow an error's "Details…" link."""
import importlib

import pytest

from workbench.appstate.state import AppState


def make_panel(qtbot, cls, state=None, size=None, show=False, run_dir=None):
    """``cls(state)`` (a fresh ``AppState`` by default, showing ``run_dir`` if given),
    registered with ``qtbot``.

    The fixture that calls this shuts the panel down after its ``yield``: pytest-qt has
    closed the widget by then.
    """
    if state is None:
        state = AppState()
    if run_dir is not None:
        state.run_dir = str(run_dir)
    return _shown(qtbot, cls(state), size, show)


def _shown(qtbot, widget, size, show, before_close=None):
    qtbot.addWidget(widget, before_close_func=before_close)
    if size is not None:
        widget.resize(*size)
    if show:
        widget.show()
    return widget


def panel_fixture(name: str, path: str, size=None, show=False, own_settings=False):
    """A pytest fixture called ``name`` that yields the panel class at ``path``
    ("workbench.panels.dataset.DatasetPanel"), made by :func:`make_panel`, and shuts it
    down afterwards. ``own_settings``: the panel reads and writes settings in the test's
    own folder. In a test module: ``panel = panel_fixture("panel", "...")``."""
    module, cls_name = path.rsplit(".", 1)

    @pytest.fixture(name=name)
    def fixture(qtbot, tmp_path, monkeypatch):
        if own_settings:
            monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
        cls = getattr(importlib.import_module(module), cls_name)
        p = make_panel(qtbot, cls, size=size, show=show)
        yield p
        p.shutdown()

    return fixture


def run_job(qtbot, job, timeout=90_000):
    """Run ``job`` (a thread ``Worker`` or a compute-service ``ServiceJob``) through a
    ``JobRunner`` as a panel would; returns ``("finished", result)``, ``("failed",
    message)`` or ``("stopped", None)``."""
    from workbench.workers.job_runner import JobRunner

    runner, out = JobRunner(), []
    runner.start(job, finished=lambda r: out.append(("finished", r)),
                 failed=lambda m: out.append(("failed", m)), stopped=lambda: out.append(("stopped", None)))
    qtbot.waitUntil(lambda: not runner.busy(), timeout=timeout)
    runner.shutdown()
    assert len(out) == 1, out
    return out[0]


# The panels' bound on background work: a hang's, not a timing. A job may first start the
# compute service, whose TensorFlow import took over 60 s with two pytest workers beside
# other work (load 12).
IDLE_MS = 180_000


def wait_idle(qtbot, panel, timeout=IDLE_MS):
    """Wait until ``panel.pending_work()`` is False (background jobs done)."""
    qtbot.waitUntil(lambda: not panel.pending_work(), timeout=timeout)


def follow_details_link(label) -> str:
    """Follow the "Details…" link in an error ``label`` (the signal a click on it sends)
    and return the traceback text its dialog shows (the dialog is closed again)."""
    from workbench.widgets.error_details import DETAILS_HREF, open_details

    assert DETAILS_HREF in label.text(), label.text()
    label.linkActivated.emit(DETAILS_HREF)
    box = open_details(label)
    assert box is not None, "no details dialog opened"
    text = box.detailedText()
    box.close()
    return text


def make_window(qtbot, tmp_path=None, monkeypatch=None, *, own_runs=False, size=None, show=True):
    """A ``MainWindow`` without the device probe (no TensorFlow import), registered with
    ``qtbot``. With ``tmp_path`` and ``monkeypatch`` its settings (and with ``own_runs``
    its runs folder) are the test's own."""
    from workbench.mainwindow import MainWindow

    if monkeypatch is not None:
        monkeypatch.setenv("WORKBENCH_SETTINGS_DIR", str(tmp_path / "settings"))
        if own_runs:
            monkeypatch.setenv("WORKBENCH_RUNS_DIR", str(tmp_path / "runs"))
    # Shut down before pytest-qt's closing: a test that failed while a training ran would
    # otherwise meet the modal "Quit while training?" question, which nobody answers
    # offscreen, and sit until the 600 s timeout (seen once at load 17). A test that closes
    # the window itself, the quit question's included, has shut it down already.
    return _shown(qtbot, MainWindow(probe_device=False), size, show,
                  before_close=lambda window: window.shutdown())


def answer_box(button_text: str, seen: list, or_first: bool = False) -> None:
    """Click ``button_text`` on the next message box as soon as it is open (with
    ``or_first``: its first button when it has no such button), and add its text to
    ``seen``."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    def click() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click)
            return
        seen.append(box.text())
        buttons = {b.text().replace("&", ""): b for b in box.buttons()}
        button = buttons.get(button_text) or (box.buttons()[0] if or_first else None)
        assert button is not None, f"no {button_text!r} button on {box.text()!r}"
        button.click()
    QTimer.singleShot(0, click)


def labels_saved() -> None:
    """Wait for the label overlay write in progress (the app writes it off its GUI thread):
    what a test does before the core reads the file (``open_dataset``, the CLI)."""
    from workbench.workers.overlay_writer import flush

    assert flush(20), "the label overlay write did not finish"


def load_overlay(root):
    """The dataset's label overlay file as the app left it: the app writes it off its GUI
    thread (``workbench.workers.overlay_writer``), so the write in progress is waited for."""
    from training.data.overlay import load_overlay as load
    from workbench.workers.overlay_writer import flush

    assert flush(20), "the label overlay write did not finish"
    return load(str(root))
