"""Child processes' log files: the old ones are pruned off the GUI thread (a stat of
every log and an unlink took 13-29 ms there when a run's end started the spare process)."""
import os
import sys
import threading
import time

from workbench.workers import children

# Which thread removed which file (audit hooks can't be removed: it records only while a
# test has set ``_removed`` to a list).
_removed: list | None = None


def _audit(event, args):
    if event == "os.remove" and _removed is not None:
        _removed.append((os.fspath(args[0]), threading.get_ident()))


sys.addaudithook(_audit)


def test_old_child_logs_are_pruned_on_the_pool(qtbot, tmp_path, monkeypatch):
    global _removed
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path / "logs"))
    folder = tmp_path / "logs" / "children"
    folder.mkdir(parents=True)
    for i in range(children.KEEP_LOGS + 5):
        log = folder / f"old-{i:02d}.log"
        log.write_text("x")
        os.utime(log, (time.time() - 1000 + i, time.time() - 1000 + i))   # old-00 the oldest
    _removed = []
    try:
        child = children.spawn([sys.executable, "-c", "pass"], "prune-test")
        children.release(child)
        qtbot.waitUntil(lambda: len(list(folder.glob("*.log"))) <= children.KEEP_LOGS, timeout=10_000)
        removed = list(_removed)
    finally:
        _removed = None
    assert removed and threading.get_ident() not in {tid for _, tid in removed}
    left = {p.name for p in folder.glob("*.log")}
    assert "old-00.log" not in left and f"old-{children.KEEP_LOGS + 4:02d}.log" in left
    assert child.log_path is not None and child.log_path.name in left   # the new one is kept
