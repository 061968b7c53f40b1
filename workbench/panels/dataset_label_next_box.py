"""The "Label next" box in the labelling view's left column (``dataset_label_next.LabelNext``
runs the loop): the switch, what is happening, the strategy, "retrain every N labels",
Rank now and the estimated-accuracy chart."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGridLayout, QHBoxLayout, QLabel,
                               QPushButton, QSpinBox, QVBoxLayout, QWidget)

from training.active.queue import checks_note
from training.active.strategies import DEFAULT_STRATEGY, STRATEGIES

DEFAULT_EVERY = 20      # new labels between rounds


class LabelNextBox(QWidget):
    """The box's widgets: switch, status, strategy, "every N labels", Rank now, chart."""

    def __init__(self, parent=None):
        from workbench.charts.active_curve import ActiveCurveChart

        super().__init__(parent)
        self.enabled = QCheckBox("Label next")
        self.enabled.setChecked(True)
        self.enabled.setToolTip("Rank the unlabelled images by what the model would learn most "
                                "from, each with the model's suggestion (Enter accepts it)")
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #333;")
        self.strategy = QComboBox()
        for key, text in STRATEGIES.items():
            self.strategy.addItem(key, key)
            self.strategy.setItemData(self.strategy.count() - 1, text, Qt.ItemDataRole.ToolTipRole)
        self.strategy.setCurrentIndex(list(STRATEGIES).index(DEFAULT_STRATEGY))
        self.every = QSpinBox()
        self.every.setRange(1, 1000)
        self.every.setValue(DEFAULT_EVERY)
        self.every.setSuffix(" labels")
        self.every.setToolTip("The model retrains in the background after this many new labels")
        self.rank_now = QPushButton("Rank now")
        self.rank_now.setToolTip("Train the suggestion model on the labels so far and rank again")
        self.chart = ActiveCurveChart()
        self.chart.setToolTip(checks_note() + ".")
        self.status.setToolTip(checks_note() + ".")
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Rank by"), 0, 0)
        grid.addWidget(self.strategy, 0, 1)
        grid.addWidget(QLabel("Retrain every"), 1, 0)
        grid.addWidget(self.every, 1, 1)
        grid.setColumnStretch(1, 1)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.enabled)
        top.addStretch(1)
        top.addWidget(self.rank_now)
        col.addLayout(top)
        col.addWidget(self.status)
        col.addLayout(grid)
        col.addWidget(self.chart, 1)
