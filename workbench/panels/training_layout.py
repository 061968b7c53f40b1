"""The Training panel's widgets and their layout (the panel connects them), in the manner
of a Qt Designer ``setupUi``: the panel's own widgets, apart from what they do."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar,
                               QPushButton, QSplitter, QVBoxLayout)

from workbench.actions import shortcuts
from workbench.charts.training_curves import TrainingCurves
from workbench.panels.training_bad_files import bad_files_label
from workbench.widgets.error_details import DetailsButton


def setup_ui(panel) -> None:
    """Create the Training panel's widgets as its attributes and lay them out."""
    panel.start_button = QPushButton("Start training")
    # F5 and Esc are window-wide actions (workbench/actions/training_actions.py), so they work
    # from any panel and wherever the focus is.
    panel.start_button.setToolTip(f"Train the current model on the current dataset "
                                  f"({shortcuts.text('start_training')})")
    panel.stop_button = QPushButton("Stop")
    panel.stop_button.setToolTip(f"Stop after the current batch; the best weights are kept "
                                 f"({shortcuts.text('stop_training')})")
    panel.force_button = QPushButton("Force stop")
    panel.force_button.setToolTip("End the training process now. The run is kept and "
                                  "Resume continues it from its last finished epoch.")
    panel.force_button.hide()
    panel.resume_button = QPushButton("Resume")
    panel.resume_button.setToolTip("Continue the selected stopped or interrupted run "
                                   "from its last checkpoint")
    panel.follow_button = QPushButton("Follow a run…")
    panel.follow_button.setToolTip("Open a run folder that another process is training "
                                   "(a terminal, or a cluster job on shared storage) and "
                                   "follow it live here; Stop then asks it to stop")
    panel.hint = QLabel()
    panel.hint.setWordWrap(True)
    buttons = QHBoxLayout()
    for b in (panel.start_button, panel.stop_button, panel.force_button, panel.resume_button,
              panel.follow_button):
        buttons.addWidget(b)
    buttons.addWidget(panel.hint, 1)

    panel.setup_label = QLabel()
    panel.setup_label.setWordWrap(True)
    panel.device_label = QLabel()
    panel.device_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    info = QHBoxLayout()
    info.addWidget(panel.setup_label, 1)
    info.addWidget(panel.device_label)
    # What is missing when an NVIDIA GPU is there but TensorFlow cannot use it.
    panel.gpu_note = _message_label("background: #fff8e1; border: 1px solid #f0d58c;")

    panel.progress = QProgressBar()
    panel.progress.setRange(0, 1000)
    panel.progress.setValue(0)
    panel.progress.setTextVisible(True)
    panel.progress.setFormat("Idle")
    panel.status_label = QLabel("")
    panel.status_label.setWordWrap(True)
    # Messages can be selected and copied (into a bug report, a search).
    panel.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.status_label.setWordWrap(True)
    panel.error_label = _message_label("color: #b00020; background: #fdecea; "
                                       "border: 1px solid #f5c2c0;")
    panel.error_details = DetailsButton(panel)   # the traceback from the log file
    panel.error_details.hide()
    panel.bad_files_label = bad_files_label(panel)

    panel.accuracy_chart = TrainingCurves("accuracy")
    panel.loss_chart = TrainingCurves("loss")
    charts = QSplitter(Qt.Orientation.Horizontal)
    charts.addWidget(panel.accuracy_chart)
    charts.addWidget(panel.loss_chart)
    panel.log = QPlainTextEdit()
    panel.log.setReadOnly(True)
    panel.log.setPlaceholderText("One line per epoch appears here while training runs.")
    panel.log.setMaximumBlockCount(5000)
    panel.splitter = QSplitter(Qt.Orientation.Vertical)
    panel.splitter.addWidget(charts)
    panel.splitter.addWidget(panel.log)
    panel.splitter.setStretchFactor(0, 3)
    panel.splitter.setStretchFactor(1, 1)

    layout = QVBoxLayout(panel)
    layout.addLayout(info)
    layout.addWidget(panel.gpu_note)
    layout.addLayout(buttons)
    layout.addWidget(panel.progress)
    layout.addWidget(panel.status_label)
    error_row = QHBoxLayout()
    error_row.addWidget(panel.error_label, 1)
    error_row.addWidget(panel.error_details)
    layout.addLayout(error_row)
    layout.addWidget(panel.bad_files_label)
    layout.addWidget(panel.splitter, 1)


def _message_label(style: str) -> QLabel:
    """A hidden, word-wrapped, selectable message box (``style``: its colours)."""
    label = QLabel()
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet(f"QLabel {{ {style} padding: 6px; }}")
    label.hide()
    return label
