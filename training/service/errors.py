"""Which failures are the person's input (``bad_input``) and which are bugs (``internal``),
and the one-line message each shows: one owner for the CLI's exit codes and the compute
service's error kinds."""
from __future__ import annotations

import traceback

BAD_INPUT, INTERNAL = "bad_input", "internal"
OUT_OF_MEMORY = "Out of memory. Try a smaller batch size, image size or model."
DEVICE_OUT_OF_MEMORY = "Out of memory on the compute device. Try a smaller batch size or image size."


def bad_input_types() -> tuple:
    """Exception types that mean "this input can't be used" (their message says why)."""
    from training.data import DatasetError, DecodeError
    from training.data.move_journal import FolderMoveError
    from training.data.overlay import OverlayError
    from training.export.exporter import ExportError
    from training.export.predictor import MissingPackageError
    from training.export.signature import SignatureError
    from training.fit.distributed import DeviceError
    from training.inference.gradcam import GradCamError
    from training.models import SpecError
    from training.runs.runfolder import RunError, UnsafeModelError
    from training.sorting.plan import SortError

    return (DatasetError, DecodeError, SpecError, RunError, UnsafeModelError, FileNotFoundError,
            ExportError, MissingPackageError, SignatureError, DeviceError, GradCamError,
            FolderMoveError, OverlayError, SortError)


def describe_error(exc: BaseException, extra_bad_input: tuple = ()) -> tuple[str, str]:
    """``(kind, message)`` for ``exc``: ``bad_input`` or ``internal``, and what the person reads."""
    if isinstance(exc, MemoryError):
        return INTERNAL, OUT_OF_MEMORY
    text = str(exc).strip() or type(exc).__name__
    # TensorFlow's out-of-memory errors are pages long: say what to do instead.
    if "ResourceExhausted" in type(exc).__name__ or "OOM" in text[:200]:
        return INTERNAL, DEVICE_OUT_OF_MEMORY
    try:
        bad = isinstance(exc, bad_input_types() + tuple(extra_bad_input))
    except Exception:  # noqa: BLE001 - a broken import is itself an internal error
        bad = False
    if len(text) >= 2000:
        last = traceback.format_exception_only(type(exc), exc)
        text = (last[-1].strip() if last else text)[:2000]
    return (BAD_INPUT if bad else INTERNAL), text
