"""The layer list of the Model panel: add, remove, reorder, and a parameter form for the
selected layer generated from ``LAYER_TYPES``. Edits go straight into
``ModelSpec.layers`` (no second copy); ``edited`` tells the panel to re-summarize."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QMenu, QPushButton, QSpinBox, QStyle,
                               QToolButton, QVBoxLayout, QWidget)

from training.models import LAYER_TYPES, LayerSpec

ERROR_BG = QColor(253, 226, 222)


def describe(layer) -> str:
    """A short line for the layer list: ``"Conv2D  32 filters 3×3, relu"``."""
    schema = LAYER_TYPES.get(layer.type, {})
    p = {k: layer.params.get(k, v.get("default")) for k, v in schema.items()}
    t = layer.type
    if t == "Conv2D":
        text = f"{p['filters']} filters {p['kernel_size']}×{p['kernel_size']}"
        if p["strides"] != 1:
            text += f" stride {p['strides']}"
        if p["padding"] != "same":
            text += f" {p['padding']}"
        text += f", {p['activation']}"
    elif t in ("MaxPooling2D", "AveragePooling2D"):
        text = f"{p['pool_size']}×{p['pool_size']}"
    elif t == "Dense":
        text = f"{p['units']} units, {p['activation']}"
    elif t == "Dropout":
        text = f"rate {p['rate']:g}"
    else:
        text = ", ".join(f"{k}={v}" for k, v in p.items())
    return f"{t}   {text}" if text else t


class LayerEditor(QWidget):
    edited = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._layers: list | None = None
        self._errors: dict[int, str] = {}
        self._icon: QIcon | None = None   # the error mark, looked up on first use
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        tools = QHBoxLayout()
        self.add_button = QToolButton()
        self.add_button.setText("Add layer")
        self.add_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self)
        for type_name in LAYER_TYPES:
            menu.addAction(type_name, lambda t=type_name: self.add_layer(t))
        self.add_button.setMenu(menu)
        self.remove_button = QPushButton("Remove")
        self.up_button = QPushButton("Up")
        self.down_button = QPushButton("Down")
        self.up_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowUp))
        self.down_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown))
        self.remove_button.clicked.connect(self.remove_layer)
        self.up_button.clicked.connect(lambda: self.move_layer(-1))
        self.down_button.clicked.connect(lambda: self.move_layer(1))
        for w in (self.add_button, self.remove_button, self.up_button, self.down_button):
            tools.addWidget(w)
        tools.addStretch(1)
        col.addLayout(tools)
        self.list = QListWidget()
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.model().rowsMoved.connect(self._rows_dragged)
        self.list.currentRowChanged.connect(self._select)
        col.addWidget(self.list, 2)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        # Messages can be selected and copied (into a bug report, a search).
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color:#a61b0f;")
        self.error_label.setVisible(False)
        col.addWidget(self.error_label)
        self.form_box = QGroupBox("Layer parameters")
        self.form = QFormLayout(self.form_box)
        col.addWidget(self.form_box, 1)
        self.hint = QLabel("The classification head (Dense with one unit per class) is added "
                           "automatically after these layers.")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color:#666;")
        col.addWidget(self.hint)

    # -- binding -------------------------------------------------------------------------------
    def set_layers(self, layers: list) -> None:
        """Edit ``layers`` (the spec's own list) in place."""
        self._layers = layers
        self._errors = {}
        row = max(0, self.list.currentRow())
        self._refill(min(row, len(layers) - 1))

    def set_errors(self, errors: dict[int, str]) -> None:
        """Mark layers with errors (red row, icon, message); ``{}`` clears them.

        Only the rows whose mark changes are touched, and the icon is looked up only when
        a row gets one: this runs at every model summary, and the style's icon lookup
        alone took ~20 ms on the GUI thread the first time.
        """
        old, self._errors = self._errors, dict(errors)
        for i in sorted(set(old) | set(self._errors)):
            item = self.list.item(i)
            if item is None or old.get(i) == self._errors.get(i):
                continue
            bad = i in self._errors
            item.setBackground(QBrush(ERROR_BG) if bad else QBrush())
            item.setIcon(self._error_icon() if bad else QIcon())
            item.setToolTip(self._errors.get(i, ""))
        messages = [f"Layer {i}: {m}" if not m.startswith("Layer") else m
                    for i, m in sorted(self._errors.items())]
        self.error_label.setText("\n".join(messages))
        self.error_label.setVisible(bool(messages))

    def _error_icon(self) -> QIcon:
        if self._icon is None:
            self._icon = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        return self._icon

    def errors(self) -> dict[int, str]:
        return dict(self._errors)

    def _refill(self, select: int) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for i, layer in enumerate(self._layers or []):
            item = QListWidgetItem(f"{i}. {describe(layer)}")
            self.list.addItem(item)
        self.list.blockSignals(False)
        if self._layers:
            self.list.setCurrentRow(max(0, select))
        self._select(self.list.currentRow())
        self._errors = {}   # the rows were made anew, unmarked
        self.set_errors({})

    # -- editing -------------------------------------------------------------------------------
    def add_layer(self, type_name: str) -> None:
        if self._layers is None:
            return
        params = {k: v["default"] for k, v in LAYER_TYPES[type_name].items()}
        at = self.list.currentRow() + 1 if self.list.currentRow() >= 0 else len(self._layers)
        self._layers.insert(at, LayerSpec(type_name, params))
        self._refill(at)
        self.edited.emit()

    def remove_layer(self) -> None:
        row = self.list.currentRow()
        if self._layers is None or row < 0:
            return
        del self._layers[row]
        self._refill(min(row, len(self._layers) - 1))
        self.edited.emit()

    def move_layer(self, delta: int) -> None:
        row = self.list.currentRow()
        new = row + delta
        if self._layers is None or row < 0 or not 0 <= new < len(self._layers):
            return
        self._layers[row], self._layers[new] = self._layers[new], self._layers[row]
        self._refill(new)
        self.edited.emit()

    def _rows_dragged(self, _parent, start, _end, _dest, dest_row) -> None:
        if self._layers is None:
            return
        layer = self._layers.pop(start)
        to = dest_row - 1 if dest_row > start else dest_row
        self._layers.insert(to, layer)
        self._refill(to)
        self.edited.emit()

    def _select(self, row: int) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        has = self._layers is not None and 0 <= row < len(self._layers)
        self.remove_button.setEnabled(has)
        self.up_button.setEnabled(has and row > 0)
        self.down_button.setEnabled(has and row < len(self._layers) - 1)
        if not has:
            self.form_box.setTitle("Layer parameters")
            self.form.addRow(QLabel("Select a layer to edit its parameters."))
            return
        layer = self._layers[row]
        self.form_box.setTitle(f"Layer {row}: {layer.type}")
        schema = LAYER_TYPES.get(layer.type, {})
        if not schema:
            self.form.addRow(QLabel(f"{layer.type} has no parameters."))
        for name, info in schema.items():
            editor = self._editor(row, name, info, layer.params.get(name, info.get("default")))
            editor.setObjectName(f"param_{name}")
            editor.setToolTip(info.get("help", ""))
            self.form.addRow(name.replace("_", " ").capitalize(), editor)

    def param_editor(self, name: str) -> QWidget | None:
        """The form widget editing parameter ``name`` of the selected layer (tests use it)."""
        return self.form_box.findChild(QWidget, f"param_{name}")

    def _editor(self, row: int, name: str, info: dict, value) -> QWidget:
        kind = info.get("type")
        if "choices" in info:
            w = QComboBox()
            w.addItems([str(c) for c in info["choices"]])
            if str(value) in info["choices"]:
                w.setCurrentText(str(value))
            w.currentTextChanged.connect(lambda v: self._set(row, name, v))
        elif kind is bool:
            w = QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(lambda v: self._set(row, name, bool(v)))
        elif kind is int:
            w = QSpinBox()
            w.setRange(int(info.get("min", 0)), int(info.get("max", 1_000_000)))
            w.setValue(int(value))
            w.valueChanged.connect(lambda v: self._set(row, name, int(v)))
        elif kind is float:
            w = QDoubleSpinBox()
            w.setDecimals(3)
            w.setSingleStep(0.05)
            w.setRange(float(info.get("min", 0.0)), float(info.get("max", 1e6)))
            w.setValue(float(value))
            w.valueChanged.connect(lambda v: self._set(row, name, float(v)))
        else:
            w = QLineEdit(str(value))
            w.editingFinished.connect(lambda: self._set(row, name, w.text()))
        return w

    def _set(self, row: int, name: str, value) -> None:
        if self._layers is None or row >= len(self._layers):
            return
        self._layers[row].params[name] = value
        item = self.list.item(row)
        if item is not None:
            item.setText(f"{row}. {describe(self._layers[row])}")
        self.edited.emit()

