"""The training settings' "Class weights" field: none, balanced, or manual per class.

Writes ``TrainConfig.class_weight`` (``None``, ``"balanced"`` or ``{class: weight}``);
manual weights are typed as ``cat=1, dog=3`` and parsed by the core
(``training.recipe.config.parse_class_weight``), which names the bad part when it can't.
"""
from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLineEdit, QWidget

NONE, BALANCED, MANUAL = "None", "Balanced", "Manual"


class ClassWeightField(QWidget):
    """Signals: changed(object): the new ``class_weight`` value (only valid values)."""

    changed = Signal(object)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.mode = QComboBox()
        self.mode.addItems([NONE, BALANCED, MANUAL])
        self.mode.setToolTip("Weigh the loss per class so small classes count as much as big "
                             "ones. Balanced: inverse class frequency on the training split.")
        self.manual = QLineEdit()
        self.manual.setPlaceholderText("cat=1, dog=3")
        self.manual.setToolTip("Weight per class name; classes not named weigh 1")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.mode)
        layout.addWidget(self.manual, 1)
        self.mode.currentTextChanged.connect(self._on_edit)
        self.manual.editingFinished.connect(self._on_edit)
        self._loading = False
        self.manual.setVisible(False)

    def load(self, value) -> None:
        self._loading = True
        if value is None:
            self.mode.setCurrentText(NONE)
        elif value == "balanced":
            self.mode.setCurrentText(BALANCED)
        else:
            self.mode.setCurrentText(MANUAL)
            self.manual.setText(", ".join(f"{k}={v:g}" for k, v in dict(value).items()))
        self.manual.setVisible(self.mode.currentText() == MANUAL)
        self._loading = False

    def value(self):
        """The ``class_weight`` the field shows; raises ValueError for bad manual text."""
        from training.recipe.config import parse_class_weight

        mode = self.mode.currentText()
        if mode == NONE:
            return None
        if mode == BALANCED:
            return "balanced"
        return parse_class_weight(self.manual.text()) or None

    @Slot()
    def _on_edit(self, *_args) -> None:
        self.manual.setVisible(self.mode.currentText() == MANUAL)
        if self._loading:
            return
        try:
            value = self.value()
        except ValueError as exc:
            self.manual.setStyleSheet("border: 1px solid #b00020;")
            self.manual.setToolTip(str(exc))
            return
        self.manual.setStyleSheet("")
        self.manual.setToolTip("Weight per class name; classes not named weigh 1")
        self.changed.emit(value)
