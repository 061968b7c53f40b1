"""The Classify panel's widgets and their layout (the panel connects what they do to its
own methods), in the manner of a Qt Designer ``setupUi``, as ``training_layout.py`` is for
the Training panel: apart from what the panel does with them."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QListWidget,
                               QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget)

from training.runs.runfolder import SIGNATURE_JSON
from workbench.actions import shortcuts
from workbench.panels.classify_coverage import CoverageControl
from workbench.panels.classify_similar import SimilarStrip
from workbench.widgets.error_details import offer_details
from workbench.widgets.image_detail import ImageDetail

DROP_HINT = ("Drop photos or a folder here, or use Open photos… / Open folder…\n"
             "Each photo gets its three most likely classes.")


def setup_ui(panel) -> None:
    """Create the Classify panel's widgets as its attributes and lay them out."""
    panel.run_combo = QComboBox()
    panel.run_combo.setMinimumContentsLength(14)   # the row must fit a 1024 px window
    panel.run_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.model_button = QPushButton("Model file…")
    panel.model_button.setToolTip("Classify with an exported model instead of a run: a .onnx "
                                 "or .tflite file, or a SavedModel's saved_model.pb, with "
                                 f"its {SIGNATURE_JSON} beside it")
    panel.model_button.clicked.connect(lambda: panel.choose_model_file())
    panel.open_button = QPushButton("Open photos…")
    shortcuts.bind(panel.open_button, "open_photos", "Add photos to the list")
    panel.open_button.clicked.connect(panel.open_photos)
    panel.folder_button = QPushButton("Open folder…")
    panel.folder_button.clicked.connect(panel.open_folder)
    panel.faces_box = QCheckBox("Detect faces")
    panel.faces_box.setToolTip("Also look for human faces with OpenCV's Haar cascade "
                              "(seed 002's human detector)")
    panel.clear_button = QPushButton("Clear")
    panel.clear_button.setToolTip("Remove every photo from the list")
    panel.clear_button.clicked.connect(panel.clear_results)
    panel.export_button = QPushButton("Export CSV…")
    panel.export_button.clicked.connect(panel.export_csv)
    panel.cancel_button = QPushButton("Cancel")
    panel.cancel_button.clicked.connect(panel.cancel)
    panel.sort_button = QPushButton("Sort into folders…")
    panel.sort_button.setToolTip("Copy (or move) a folder of photos into one folder per "
                                "class with this run; shows the counts first, can be undone")
    panel.sort_button.clicked.connect(lambda: panel.open_sort())
    panel.sort_dialog = None
    bar = QHBoxLayout()
    bar.addWidget(QLabel("Run:"))
    bar.addWidget(panel.run_combo, 1)
    bar.addWidget(panel.model_button)
    for w in (panel.open_button, panel.folder_button, panel.faces_box, panel.clear_button,
              panel.export_button):
        bar.addWidget(w)
    panel.progress = QProgressBar()
    panel.progress.setFormat("%v / %m photos")
    panel.status = QLabel("")
    panel.status.setWordWrap(True)
    # Messages can be selected and copied (into a bug report, a search).
    panel.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    panel.status.setWordWrap(True)
    offer_details(panel.status)
    prog = QHBoxLayout()
    prog.addWidget(panel.progress, 1)
    prog.addWidget(panel.cancel_button)

    panel.list = QListWidget()
    panel.list.setIconSize(QSize(72, 72))
    panel.list.setAlternatingRowColors(True)
    panel.empty = QLabel(DROP_HINT)
    panel.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
    panel.empty.setWordWrap(True)
    panel.empty.setStyleSheet("color: palette(mid); border: 2px dashed palette(mid); "
                             "padding: 24px;")
    panel.bad_list = QListWidget()
    panel.bad_list.setMaximumHeight(110)
    panel.bad_label = QLabel("Files that could not be classified")
    left = QWidget()
    lv = QVBoxLayout(left)
    lv.setContentsMargins(0, 0, 0, 0)
    lv.addWidget(panel.empty, 1)
    lv.addWidget(panel.list, 1)
    lv.addWidget(panel.bad_label)
    lv.addWidget(panel.bad_list)
    # Under the results: how many photos get an answer vs "unknown" (training.trust.unknown).
    panel.coverage = CoverageControl()
    lv.addWidget(panel.coverage)
    panel.detail = ImageDetail("Select a photo to see it large with all class probabilities")
    panel.splitter = QSplitter(Qt.Orientation.Horizontal)
    panel.splitter.addWidget(left)
    panel.similar = SimilarStrip()   # "why": the training images it resembles (issue 24)
    right = QWidget()
    rv = QVBoxLayout(right)
    rv.setContentsMargins(0, 0, 0, 0)
    rv.addWidget(panel.detail, 1)
    rv.addWidget(panel.similar)
    panel.splitter.addWidget(right)
    panel.splitter.setSizes([420, 520])
    layout = QVBoxLayout(panel)
    layout.addLayout(bar)
    layout.addLayout(prog)
    # Beside the messages, not in the bar: the bar is as wide as a 1024 px window allows.
    status_row = QHBoxLayout()
    status_row.addWidget(panel.status, 1)
    status_row.addWidget(panel.sort_button, 0, Qt.AlignmentFlag.AlignTop)
    layout.addLayout(status_row)
    layout.addWidget(panel.splitter, 1)
