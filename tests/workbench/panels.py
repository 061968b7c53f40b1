"""Helpers shared by the panel tests: make a panel, wait until it has no work pending."""
from workbench.state import AppState


def make_panel(qtbot, cls, state=None, size=None, show=False):
    """``cls(state)`` (a fresh ``AppState`` by default), registered with ``qtbot``.

    The fixture that calls this shuts the panel down after its ``yield``: pytest-qt has
    closed the widget by then.
    """
    panel = cls(state if state is not None else AppState())
    qtbot.addWidget(panel)
    if size is not None:
        panel.resize(*size)
    if show:
        panel.show()
    return panel


def wait_idle(qtbot, panel, timeout=90_000):
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
