"""Workers that finish at once, or are stopped and waited for while their results are
still queued, must never be deleted twice (once by Qt, once by Python's GC): that
crashed the process with "shared QObject was deleted directly"."""
import gc

from PySide6.QtCore import QCoreApplication

from workbench.workers.base import Worker, start, stop_and_wait
from workbench.workers.jobs import Job


class _Quick(Worker):
    def work(self):
        return {"ok": True}


def test_many_quick_workers_stopped_and_collected_do_not_crash(qtbot):
    results, jobs = [], []
    for i in range(150):
        job = Job(_Quick(), None, on_finished=lambda job, r: results.append(r))
        jobs.append(job)
        if i % 2:
            job.stop_and_wait(5000)   # the shutdown path, while signals are still queued
        gc.collect()
        QCoreApplication.processEvents()
    # Every worker finishes (a stop requested after work() returned changes nothing).
    qtbot.waitUntil(lambda: len(results) == 150, timeout=20000)
    qtbot.waitUntil(lambda js=jobs: not any(j.running for j in js), timeout=10000)
    del jobs, job
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
