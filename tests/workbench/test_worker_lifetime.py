"""Workers that finish at once, or are stopped and waited for while their results are
still queued, must never be deleted twice (once by Qt, once by Python's GC): that
crashed the process with "shared QObject was deleted directly"."""
import gc

from PySide6.QtCore import QCoreApplication

from workbench.workers.base import Worker, start, stop_and_wait
from workbench.workers.job_runner import JobRunner


class _Quick(Worker):
    def work(self):
        return {"ok": True}


def test_many_quick_workers_stopped_and_collected_do_not_crash(qtbot):
    results, runners = [], []
    for i in range(150):
        runner = JobRunner()   # one per job: a runner's next start would drop this result
        runner.start(_Quick(), finished=results.append)
        runners.append(runner)
        if i % 2:
            # The shutdown path while signals are still queued: the runner stops listening.
            runner.shutdown(5000)
        # The young generations hold this loop's runners and workers; a full collection
        # walks the whole suite's heap (~0.3 s each late in a run, 45 s for 150), so
        # only every 25th is full.
        gc.collect(2 if i % 25 == 0 else 1)
        QCoreApplication.processEvents()
    # Every worker that was not shut down delivers its result (a stop requested after
    # work() returned changes nothing), and every runner ends idle.
    qtbot.waitUntil(lambda: len(results) >= 75, timeout=20000)
    qtbot.waitUntil(lambda rs=runners: not any(r.busy() for r in rs), timeout=10000)
    del runners, runner
    gc.collect()
    QCoreApplication.processEvents()


def test_plain_start_releases_worker_after_the_thread_ends(qtbot):
    worker = _Quick()
    with qtbot.waitSignal(worker.done, timeout=5000):
        thread = start(worker)
    qtbot.waitUntil(lambda: not thread.isRunning(), timeout=5000)
    assert stop_and_wait(worker)
    del worker
    gc.collect()
    QCoreApplication.processEvents()
