"""Downloading ImageNet weights in a worker (the core's ``training.models.weights_download``).

Runs only when the person presses the download button. ``progress`` carries bytes done
and total; a cancel ends as ``stopped`` (the partial file is removed by the core); a
network or checksum problem ends as ``failed`` with the core's message.
"""
from __future__ import annotations

import logging

from training.events import Stopped
from workbench.workers.pool import PoolWorker

log = logging.getLogger(__name__)


class WeightsDownloadWorker(PoolWorker):
    """``finished`` carries the saved file's path."""

    def __init__(self, backbone: str, input_size, alpha: float = 1.0, base_url: str | None = None):
        super().__init__()
        self.args = (backbone, tuple(input_size), float(alpha), base_url)

    def work(self) -> str:
        from training.models.weights_download import DownloadCancelled, DownloadError, download, weights_file

        backbone, size, alpha, base_url = self.args
        wf = weights_file(backbone, size, alpha, base_url=base_url)
        try:
            return download(wf, progress=lambda done, total: self.events.on_progress(
                done, total, "download"), should_stop=self.stop_requested)
        except DownloadCancelled:
            raise Stopped() from None
        except DownloadError:
            log.warning("Weights download failed", exc_info=True)
            raise
