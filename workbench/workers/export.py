"""The export job behind "Export model…": ``training.export.exporter.export`` on a worker thread.

The result is plain data (paths, sizes, parity figures). A file that fails the parity
gate is not an exception here: the dialog shows the table with the failing row, so the
result carries ``ok: False`` and ``error``. A cancel ends as ``stopped`` (nothing written).
"""
from __future__ import annotations

import logging

from workbench.workers.base import Worker

log = logging.getLogger(__name__)


class ExportWorker(Worker):
    """Export ``run_dir`` to ``formats`` (names from ``training.export.exporter.FORMAT_NAMES``).

    Returns:
        ``export()``'s dict (``out_dir``, ``artifacts``, ``parity_source``, ``ok``) plus
        ``error`` (None, or why the files were not written).
    """

    def __init__(self, run_dir: str, formats: list[str], out_dir: str | None = None,
                 quantize: str | None = None, force: bool = False):
        super().__init__()
        self.run_dir, self.formats, self.out_dir = run_dir, list(formats), out_dir
        self.quantize, self.force = quantize, force

    def work(self) -> dict:
        self.events.on_status("Loading TensorFlow…")
        from workbench.workers.tfload import ensure_tensorflow

        ensure_tensorflow()  # never import TF from two threads at once (see tfload)
        from training.export.exporter import ParityError, export

        try:
            result = export(self.run_dir, self.formats, self.out_dir, events=self.events,
                            quantize=self.quantize, force=self.force)
        except ParityError as exc:
            log.warning("Export of %s failed the parity gate: %s", self.run_dir, exc)
            return {**exc.result, "error": str(exc)}
        return {**result, "error": None}
