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
