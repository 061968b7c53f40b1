"""The run-folder watcher, and what it is for (issue 11 item 2): a run changed on disk by
another process refreshes the Results panel and the Classify run picker."""
import json
import os
import shutil


from tests.workbench.panels import make_panel, wait_idle, panel_fixture
from tests.workbench.tiny_run import tiny_run
from training.runs.runfolder import RUN_JSON, default_runs_root
from workbench.panels.classify import ClassifyPanel
from workbench.panels.results_runs import PathRole
from workbench.workers.run_watcher import RunWatcher


def _write_json(path, data):
    tmp = str(path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, path)  # as the core writes: atomically


def test_watcher_reports_changed_files_and_new_runs(qtbot, tmp_path):
    root = tmp_path / "runs"
    root.mkdir()
    watcher = RunWatcher(str(root))
    run = root / "20260101-000000_cnn"
    with qtbot.waitSignal(watcher.runsChanged, timeout=5000):
        run.mkdir()
    assert str(run) in watcher.watched()
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        _write_json(run / RUN_JSON, {"status": "running"})
        _write_json(run / "history.json", [])
    assert sig.args[0] == str(run)
    assert set(sig.args[1]) <= {RUN_JSON, "history.json"} and sig.args[1]
    # A run folder outside the root, followed explicitly.
    other = tmp_path / "elsewhere"
    other.mkdir()
    watcher.watch(str(other))
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        _write_json(other / "history.json", [{"epoch": 1}])
    assert sig.args == [str(other), ["history.json"]]
    watcher.unwatch(str(other))
    assert str(other) not in watcher.watched()


def test_scans_run_on_the_pool_and_a_refresh_on_the_spot(qtbot, tmp_path, monkeypatch):
    # Every readdir and stat releases the GIL; on the GUI thread each waited for the
    # pool's busy thread to let go of it (25-100 ms late ticks at an epoch's end).
    import threading

    from workbench.workers import run_watcher

    scanned_on = []
    real = run_watcher.snapshot
    monkeypatch.setattr(run_watcher, "snapshot",
                        lambda folder: scanned_on.append(threading.get_ident()) or real(folder))
    root = tmp_path / "runs"
    (root / "20260101-000000_cnn").mkdir(parents=True)
    watcher = RunWatcher(str(root))
    run = root / "20260101-000000_cnn"
    scanned_on.clear()
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        _write_json(run / "history.json", [{"epoch": 1}])
    assert sig.args == [str(run), ["history.json"]]
    gui = threading.get_ident()
    assert scanned_on and gui not in scanned_on
    # Changes made while a scan is on the pool are scanned after it, not lost.
    seen = []
    watcher.runChanged.connect(lambda folder, names: seen.extend(names))
    for epoch in range(2, 6):
        _write_json(run / "history.json", [{"epoch": epoch}] * epoch)
        watcher._flush()
    _write_json(run / "live.json", {"batch": 3})
    watcher._flush()
    qtbot.waitUntil(lambda: "live.json" in seen and not watcher._scanning, timeout=5000)
    # A refresh scans at once, on this thread, and answers before it returns.
    scanned_on.clear()
    seen.clear()
    _write_json(run / RUN_JSON, {"status": "complete"})
    watcher.check_now()
    assert seen == [RUN_JSON] and scanned_on and set(scanned_on) == {gui}
    watcher.stop()


def _copy_run(run, name):
    dst = os.path.join(str(default_runs_root()), name)
    shutil.copytree(run["run_dir"], dst)
    return dst


results = panel_fixture("results", "workbench.panels.results.ResultsPanel", size=(1300, 800))


def test_results_follow_a_run_changed_by_another_process(qtbot, results):
    """Stop -> resume -> finish in another process: the shown run updates by itself."""
    run_dir = _copy_run(tiny_run(), "20260102-000000_cnn_watched")
    info_path = os.path.join(run_dir, RUN_JSON)
    with open(info_path, encoding="utf-8") as f:
        info = json.load(f)
    evaluation = os.path.join(run_dir, "evaluation.json")
    os.replace(evaluation, evaluation + ".away")
    _write_json(info_path, dict(info, status="stopped", test_accuracy=None))
    results.state.set_run(run_dir)
    wait_idle(qtbot, results)
    assert "status stopped" in results.header.text()
    assert "No evaluation yet" in results.header.text()
    # Another process resumes, finishes and evaluates the run.
    os.replace(evaluation + ".away", evaluation)
    _write_json(info_path, dict(info, status="complete"))
    qtbot.waitUntil(lambda: "status complete" in results.header.text(), timeout=10_000)
    assert "accuracy" in results.header.text()
    wait_idle(qtbot, results)
    # The runs table shows the new status too, without pressing Refresh.
    table = results.runs.table
    from workbench.panels.results_runs import COLUMN_STATUS

    statuses = {table.item(r, 0).data(PathRole): table.item(r, COLUMN_STATUS).text()
                for r in range(table.rowCount())}
    assert statuses.get(run_dir) == "complete"


def test_classify_picker_lists_a_run_made_by_another_process(qtbot):
    panel = make_panel(qtbot, ClassifyPanel)
    try:
        wait_idle(qtbot, panel)
        run_dir = _copy_run(tiny_run(), "20260103-000000_cnn_external")
        qtbot.waitUntil(lambda: panel.run_combo.findData(run_dir) >= 0, timeout=10_000)
        wait_idle(qtbot, panel)
    finally:
        panel.shutdown()


def test_first_snapshots_on_the_pool_and_a_write_before_them_is_news(qtbot, tmp_path,
                                                                      monkeypatch):
    # watch() (a training run's folder appearing) and a new run under the root took the
    # folder's first snapshot on the GUI thread, a scandir and a stat per file: a 44.9 ms
    # late tick on Start (docs/BENCHMARKS.md section 14, fifth pass).
    import threading
    import time

    from workbench.workers import run_watcher

    gui, scanned_on, written = threading.get_ident(), [], []
    real = run_watcher.snapshot
    run, removed = tmp_path / "run", tmp_path / "removed"

    def spy(folder):
        scanned_on.append(threading.get_ident())
        if folder == str(run) and not written:   # lands after watch(), before the first scan
            written.append(folder)
            _write_json(run / "history.json", [{"epoch": 1}])
        if folder == str(removed) and folder not in written:   # removed before its first scan
            written.append(folder)
            shutil.rmtree(removed)
        return real(folder)

    run.mkdir()
    _write_json(run / RUN_JSON, {"status": "running"})
    old = time.time() - 60
    os.utime(run / RUN_JSON, (old, old))   # there before watch(): not news
    monkeypatch.setattr(run_watcher, "snapshot", spy)
    watcher = RunWatcher(poll_ms=1000)
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        watcher.watch(str(run))
        assert gui not in scanned_on
    assert sig.args == [str(run), ["history.json"]] and gui not in scanned_on
    # A followed folder removed before its first scan: still followed, seen when it is back.
    removed.mkdir()
    watcher.watch(str(removed))
    qtbot.waitUntil(lambda: not watcher._pending and not watcher._scanning, timeout=5000)
    assert str(removed) in watcher.followed() and not removed.exists()
    removed.mkdir()
    with qtbot.waitSignal(watcher.runChanged, timeout=5000,
                          check_params_cb=lambda f, names: f == str(removed)) as sig:
        _write_json(removed / "history.json", [])
    assert sig.args[1] == ["history.json"]
    watcher.stop()
    # Under a root: a new run's first snapshot, and a removed run's last, on the pool too.
    root = tmp_path / "runs"
    root.mkdir()
    watcher = RunWatcher(str(root))
    new = root / "20260101-000000_cnn"
    scanned_on.clear()
    with qtbot.waitSignal(watcher.runsChanged, timeout=5000):
        new.mkdir()
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        _write_json(new / RUN_JSON, {"status": "running"})
    assert sig.args == [str(new), [RUN_JSON]]
    with qtbot.waitSignal(watcher.runChanged, timeout=5000) as sig:
        shutil.rmtree(new)
    assert sig.args == [str(new), [RUN_JSON]] and str(new) not in watcher.watched()
    assert scanned_on and gui not in scanned_on
    watcher.stop()
