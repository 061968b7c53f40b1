"""The Model panel's widgets and their layout (the panel connects what they do to its own
methods), in the manner of a Qt Designer ``setupUi``, as ``classify_layout.py`` is for the
Classify panel: the template row, the forms column, the layer editor and the summary box."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QPushButton, QScrollArea,
                               QSplitter, QTableWidget, QVBoxLayout, QWidget)

from training.models.templates import TEMPLATE_LABELS, TEMPLATES
from workbench.panels.layer_editor import LayerEditor
from workbench.panels.model_assist import AUTO_HELP
from workbench.widgets.error_details import offer_details
from workbench.widgets.fit import ColumnFitter, text_scroller
from workbench.widgets.model_forms import AugmentationForm, InputForm, TrainingForm, TransferForm

# (name, label, description) of every template: the core's vocabulary.
TEMPLATE_CHOICES = (("auto", "Auto (from the data)", AUTO_HELP),
                    *((name, TEMPLATE_LABELS[name], text) for name, text in TEMPLATES.items()))
FORMS_MIN_WIDTH = 260   # px; the forms column scrolls sideways below this


def setup_ui(panel) -> QWidget:
    """Create the Model panel's widgets as its attributes and lay them out; returns the
    summary box (the panel moves it under the layer editor in a narrow window)."""
    col = QVBoxLayout(panel)
    col.setContentsMargins(8, 8, 8, 8)
    top = QHBoxLayout()
    top.addWidget(QLabel("<b>Template</b>"))
    panel.template_combo = QComboBox()
    for key, label, _desc in TEMPLATE_CHOICES:
        panel.template_combo.addItem(label, key)
    top.addWidget(panel.template_combo)
    panel.template_desc = QLabel()
    panel.template_desc.setWordWrap(True)
    panel.template_desc.setStyleSheet("color:#555;")
    offer_details(panel.template_desc)
    # Auto's explanation runs to 8 lines in a 1024-pixel window: at most 4 show, the
    # rest scrolls, so the forms and the summary keep their room.
    desc_area = text_scroller(panel.template_desc)
    desc_area.setMaximumHeight(panel.template_desc.fontMetrics().lineSpacing() * 4 + 4)
    top.addWidget(desc_area, 1)
    panel.save_button = QPushButton("Save spec…")
    panel.load_button = QPushButton("Load spec…")
    top.addWidget(panel.save_button)
    top.addWidget(panel.load_button)
    col.addLayout(top)
    col.addWidget(panel.assist.advice_label)   # guard rails: full width, above the forms

    panel.splitter = QSplitter(Qt.Orientation.Horizontal)
    forms = QWidget()
    fcol = QVBoxLayout(forms)
    panel.input_form = InputForm()
    panel.aug_form = AugmentationForm()
    panel.transfer_form = TransferForm()
    panel.training_form = TrainingForm()
    for f in (panel.input_form, panel.aug_form, panel.transfer_form):
        fcol.addWidget(f)
    fcol.insertWidget(2, panel.assist.preview)       # right under the augmentation toggles
    fcol.addWidget(panel.assist.weights_box)
    fcol.addWidget(panel.training_form)
    fcol.addStretch(1)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(forms)
    # Never clip the forms sideways: the column is at least as wide as they need.
    # Narrow windows: the forms scroll sideways rather than squeezing the summary or
    # cutting off text (a long weights file name) with no way to see it.
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    scroll.setMinimumWidth(min(forms.minimumSizeHint().width(), FORMS_MIN_WIDTH)
                           + scroll.verticalScrollBar().sizeHint().width() + 4)
    panel.layers = LayerEditor()

    right = QWidget()
    rcol = QVBoxLayout(right)
    rcol.setContentsMargins(0, 0, 0, 0)
    rcol.addWidget(QLabel("<b>Summary</b>"))
    panel.summary = QTableWidget(0, 4)
    panel.summary.setHorizontalHeaderLabels(["Layer", "Type", "Output shape", "Params"])
    panel.summary.verticalHeader().setVisible(False)
    panel.summary.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    # Layer names are never elided ("max_pooling…"): the Type column (also in each
    # name's tooltip) goes first when the column is narrow.
    panel.summary_fit = ColumnFitter(panel.summary, optional=[1])
    rcol.addWidget(panel.summary, 1)
    panel.totals = QLabel()
    panel.totals.setObjectName("summaryTotals")
    panel.totals.setWordWrap(True)   # a long line here would widen the whole window
    panel.status = QLabel()
    panel.status.setWordWrap(True)
    # Messages can be selected and copied (into a bug report, a search).
    panel.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.status.setWordWrap(True)
    offer_details(panel.status)
    rcol.addWidget(panel.totals)
    rcol.addWidget(panel.status)
    panel.splitter.addWidget(scroll)
    panel.splitter.addWidget(panel.layers)
    panel.splitter.addWidget(right)
    panel.splitter.setSizes([400, 320, 400])
    col.addWidget(panel.splitter, 1)
    return right

