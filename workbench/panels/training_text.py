"""The Training panel's words: epoch log lines, the stop message, ETA durations."""
from __future__ import annotations


def epoch_line(info: dict) -> str:
    """One log line per epoch: ``Epoch 2/10  loss 0.412  acc 0.861  val_loss …``."""
    parts = [f"Epoch {info.get('epoch', '?')}/{info.get('epochs', '?')}"]
    if info.get("phase") == "fine_tune":
        parts[0] += " (fine-tune)"
    for key, label, fmt in (("loss", "loss", "{:.4f}"), ("accuracy", "acc", "{:.3f}"),
                            ("val_loss", "val_loss", "{:.4f}"),
                            ("val_accuracy", "val_acc", "{:.3f}"), ("lr", "lr", "{:.2g}"),
                            ("seconds", "", "{:.1f} s")):
        value = info.get(key)
        if isinstance(value, (int, float)):
            parts.append(f"{label} {fmt.format(value)}".strip())
    if info.get("best"):
        parts.append("★ best")
    return "  ".join(parts)


def stopped_message(best_epoch) -> str:
    if best_epoch:
        return f"Stopped — best weights from epoch {best_epoch} kept"
    return "Stopped during the first epoch — no validated best weights yet"


def duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def force_stopped_message(epochs_done: int) -> str:
    if epochs_done:
        return (f"Force-stopped — the run is kept; Resume continues it after epoch "
                f"{epochs_done} (its last checkpoint)")
    return "Force-stopped before the first epoch ended — nothing to resume; start a new run"


def unexpected_stop_message(how: str | None, resume_after: int | None, shown: int = 0) -> str:
    """A run whose process ended without finishing it (``status: interrupted``).

    Args:
        how: what happened to the process ("killed by signal 9 (SIGKILL)"), if known.
        resume_after: the epoch of the checkpoint a resume continues from (None: none).
        shown: epochs shown; one past the checkpoint died while it was being saved.
    """
    why = (f"the training process was {how}" if how
           else "the process training this run ended without finishing it (killed or crashed)")
    if resume_after:
        then = f"Resume continues it after epoch {resume_after}, its last checkpoint."
        if shown > resume_after:
            then += f" Epoch {shown} ended but was not saved: Resume trains it again."
    else:
        then = "It had not finished an epoch, so there is nothing to resume: start a new run."
    return f"Training stopped unexpectedly: {why}. The run is marked interrupted. {then}"
