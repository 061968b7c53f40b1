"""A worker's exception reaches the log file with its traceback, and "Details…" shows it:
from the Training panel's button and from the error of every other panel (one helper,
workbench/widgets/error_details.py)."""
from tests.workbench.panels import follow_details_link, make_panel, wait_idle
from workbench.widgets.error_details import DetailsButton
from workbench.workers.base import Worker
from workbench.workers.job_runner import JobRunner


class _Broken(Worker):
    def work(self):
        raise ValueError("broken value 42")


def test_a_failed_worker_logs_its_traceback_and_details_show_it(qtbot, workbench_log):
    runner = JobRunner()
    outcomes = []
    runner.start(_Broken(), finished=lambda r: outcomes.append("finished"),
                 failed=outcomes.append, stopped=lambda: outcomes.append("stopped"),
                 done=lambda: outcomes.append("done"))
    qtbot.waitUntil(lambda: not runner.busy(), timeout=10_000)
    assert outcomes == ["broken value 42", "done"]      # exactly one outcome, then done
    button = DetailsButton()
    qtbot.addWidget(button)
    box = button.show_details()
    text = box.detailedText()
    assert "_Broken failed" in text and "Traceback (most recent call last)" in text
    assert text.rstrip().endswith("ValueError: broken value 42")
    assert str(workbench_log.parent) in box.text()
    box.close()


def test_dataset_panel_error_offers_the_index_jobs_traceback(qtbot, tmp_path, workbench_log):
    from workbench.panels.dataset import DatasetPanel

    panel = make_panel(qtbot, DatasetPanel, size=(1100, 700), show=True)
    try:
        empty = tmp_path / "empty"
        empty.mkdir()
        panel.open_path(str(empty))
        qtbot.waitUntil(lambda: panel.error_label.isVisible(), timeout=20_000)
        wait_idle(qtbot, panel, 20_000)
        text = follow_details_link(panel.error_label)
        assert "IndexWorker failed" in text and "Traceback (most recent call last)" in text
        assert "DatasetError" in text and str(empty) in text
    finally:
        panel.shutdown()


def test_data_health_error_offers_the_check_jobs_traceback(qtbot, tmp_path, workbench_log):
    from training.data import DatasetSpec
    from workbench.panels.health import HealthView

    panel = make_panel(qtbot, HealthView, size=(1000, 700), show=True)
    try:
        missing = tmp_path / "no-such-folder"
        panel.state.dataset_spec = DatasetSpec(path=str(missing))
        panel.check()
        qtbot.waitUntil(lambda: "failed" in panel.status.text(), timeout=20_000)
        wait_idle(qtbot, panel, 20_000)
        assert panel.error_details.isVisible()
        box = panel.error_details.show_details()
        text = box.detailedText()
        box.close()
        assert "health request" in text and "Traceback (most recent call last)" in text
        assert str(missing) in text
    finally:
        panel.shutdown()
