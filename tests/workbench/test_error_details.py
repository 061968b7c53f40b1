"""A worker's exception reaches the log file with its traceback, and "Details…" shows it."""
import logging

from training import logs
from workbench.widgets.error_details import DetailsButton
from workbench.workers.base import Worker
from workbench.workers.job_runner import JobRunner


class _Broken(Worker):
    def work(self):
        raise ValueError("broken value 42")


def test_a_failed_worker_logs_its_traceback_and_details_show_it(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(tmp_path))
    root = logging.getLogger()
    before = list(root.handlers)
    try:
        for h in [h for h in root.handlers if isinstance(h, logs._WorkbenchFileHandler)]:
            root.removeHandler(h)
        logs.setup_logging()
        runner = JobRunner()
        outcomes = []
        runner.start(_Broken(), finished=lambda r: outcomes.append("finished"),
                     failed=outcomes.append, stopped=lambda: outcomes.append("stopped"),
                     done=lambda: outcomes.append("done"))
        qtbot.waitUntil(lambda: not runner.busy(), timeout=10_000)
        assert outcomes == ["broken value 42", "done"]      # exactly one outcome, then done
        for h in root.handlers:
            h.flush()
        button = DetailsButton()
        qtbot.addWidget(button)
        box = button.show_details()
        text = box.detailedText()
        assert "_Broken failed" in text and "Traceback (most recent call last)" in text
        assert text.rstrip().endswith("ValueError: broken value 42")
        assert str(tmp_path) in box.text()
        box.close()
    finally:
        for h in list(root.handlers):
            if h not in before:
                root.removeHandler(h)
                h.close()
