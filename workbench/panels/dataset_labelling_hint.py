"""The line above the labelling view's grid: what to do next (the keys, how many images are
left, what Label next is doing meanwhile), or what went wrong (in red until the next label).

Part of :class:`~workbench.panels.dataset_labelling.LabellingView`, which calls
:meth:`LabellingHint.show_for` after each label (in the event loop's next turn, after the
next image is painted) and :meth:`LabellingHint.say` for a key or class edit that failed.
"""
from __future__ import annotations

from PySide6.QtWidgets import QLabel

from workbench.actions.fixes import class_keys

NO_UNLABELLED = ("No unlabelled images: every image has a class. Put images in the dataset "
                 "folder (outside the class folders) to label them here, or switch off "
                 "Label images to see the labelled ones.")
ALL_DONE = ("Every image here is labelled. Train from the Training panel, or switch off "
            "Label images to see them all.")
HINT_STYLE = "color: #333; background: #eef4fb; padding: 4px;"
ERROR_STYLE = "color: #8a1f11; background: #fdecea; padding: 4px;"
KEYS_SHOWN = 6   # classes whose keys the hint lists; the class list shows them all


class LabellingHint(QLabel):
    """The hint (a word-wrapped label, hidden outside the labelling mode)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setStyleSheet(HINT_STYLE)
        self.hide()
        self.note: str | None = None   # a line the hint starts with (see LabellingView.set_note)

    def say(self, text: str) -> None:
        """Show ``text`` as a problem (red) until the next update."""
        self.setText(text)
        self.setStyleSheet(ERROR_STYLE)
        self.show()

    def show_for(self, view, left: int) -> None:
        """Say what to do next in ``view`` (a ``LabellingView``), ``left`` images unlabelled."""
        if not view.is_active() or view.state.dataset is None:
            self.hide()
            return
        if self.styleSheet() != HINT_STYLE:   # restyling on every key press cost ~1 ms
            self.setStyleSheet(HINT_STYLE)
        classes = view.fixes.classes
        if not classes:
            text = ("Create a class to start labelling: click Add class… on the left, then "
                    "press its key on each image.")
        elif view.panel.thumbs.rowCount() == 0:
            text = NO_UNLABELLED
        elif not any(view.to_label(p) for p in view.selected_paths()) and not left \
                and not view.queue():
            text = ALL_DONE
        else:
            keys = class_keys(classes)
            shown = " · ".join(f"{k} {c}" for k, c in list(keys.items())[:KEYS_SHOWN])
            more = ", more in the class list" if len(keys) > KEYS_SHOWN else ""
            text = (f"{left:,} to label. Keys: {shown}{more}. Select several images to label "
                    "them at once; Ctrl+Z undoes."
                    + (" Enter accepts the suggestion." if view.has_suggestions() else ""))
        if self.note:
            text = f"{self.note} {text}"
        self.setText(text)
        self.show()
