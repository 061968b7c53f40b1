"""``export``: export a run to SavedModel / ONNX / TFLite, each file checked by the parity gate."""
from __future__ import annotations

import logging

from training.service.registry import handler

log = logging.getLogger(__name__)


@handler("export", lane="batch")
def export(request, run_dir: str, formats: list, out_dir: str | None = None,
           quantize: str | None = None, force: bool = False) -> dict:
    """Returns ``export()``'s dict (``out_dir``, ``artifacts``, ``parity_source``, ``ok``) plus
    ``error``: None, or why the files were not written (a file failed the parity gate: the
    dialog shows the table with the failing row, so that is a result, not an error)."""
    from training.export.exporter import ParityError
    from training.export.exporter import export as export_run

    request.on_status("Exporting…")
    try:
        result = export_run(run_dir, list(formats), out_dir, events=request, quantize=quantize,
                            force=bool(force))
    except ParityError as exc:
        log.warning("Export of %s failed the parity gate: %s", run_dir, exc)
        return {**exc.result, "error": str(exc)}
    return {**result, "error": None}
