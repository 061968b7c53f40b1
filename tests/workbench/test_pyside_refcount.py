"""PySide6 6.12.0 on CPython 3.11 drops a reference to None on every void-returning call
and the process dies with "Fatal Python error: none_dealloc" (why pyproject pins <6.12).
This keeps a future upgrade from bringing it back silently."""
import sys


def test_none_refcount_does_not_drift(qapp):
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    for i in range(200):  # warm up caches that legitimately hold None
        label.setText(str(i))
    before = sys.getrefcount(None)
    for _ in range(20_000):
        label.setText("x")
        label.update()
    after = sys.getrefcount(None)
    # 6.11.3 stays near 0; 6.12.0 drifts by about -40,000 here. In the full suite, threads
    # the app keeps for the session (the decode pool's idle workers, the session's compute
    # service client) take and drop Nones meanwhile: ~1,000 seen, far from the bug's size.
    assert abs(after - before) < 5_000, f"refcount of None drifted by {after - before}"
