"""The Map tab's widgets and their layout (the tab connects them to what they do), in the
manner of a Qt Designer ``setupUi``, as ``training_layout`` does for the Training panel."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QComboBox, QHBoxLayout, QLabel, QMenu,
                               QPushButton, QSplitter, QToolButton, QVBoxLayout,
                               QWidget)

from workbench.widgets.image_gallery import ImageGallery
from workbench.widgets.job_progress import JobProgressBar
from workbench.widgets.map_colors import COLOR_BY

EMPTY = "Select a run to see its map: every image placed by what the model sees."


def setup_ui(tab) -> None:
    """Create ``tab``'s (a ``MapTab``) widgets as its attributes and lay them out."""
    tab.color_by = QComboBox()
    tab.color_by.addItems(COLOR_BY)
    tab.color_by.setToolTip("Colour the points by this field")
    tab.mode_buttons = QButtonGroup(tab)
    modes = QHBoxLayout()
    for key, text, tip in (("pan", "Pan", "Drag to pan, wheel to zoom, click a point to see it"),
                           ("rectangle", "Rectangle", "Drag a rectangle to select its points"),
                           ("lasso", "Lasso", "Draw around points to select them")):
        b = QPushButton(text)
        b.setCheckable(True)
        b.setToolTip(tip)
        b.setProperty("mode", key)
        b.setChecked(key == "pan")
        tab.mode_buttons.addButton(b)
        modes.addWidget(b)
    tab.similar_button = QPushButton("More like this")
    tab.similar_button.setToolTip("The training images most similar to the clicked image "
                                  "(nearest by the model's features)")
    tab.similar_button.clicked.connect(tab.more_like_this)
    tab.relabel_button = QToolButton()
    tab.relabel_button.setText("Relabel selection")
    tab.relabel_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    tab.relabel_menu = QMenu(tab.relabel_button)
    tab.relabel_button.setMenu(tab.relabel_menu)
    tab.relabel_button.setToolTip("Give every selected image one class (label overlay; "
                                  "your files are not touched; Edit → Undo)")
    tab.exclude_button = QPushButton("Exclude selection")
    tab.exclude_button.setToolTip("Leave the selected images out of training (undo: Edit → Undo)")
    tab.exclude_button.clicked.connect(tab.exclude_selection)
    tab.undo_button = QPushButton("Undo")
    tab.undo_button.setToolTip("Undo the last relabel or exclusion")
    tab.undo_button.clicked.connect(tab.fixes.undo)
    tab.reset_button = QPushButton("Reset view")
    tab.reset_button.clicked.connect(lambda: tab.view and tab.view.reset_view())
    top = QHBoxLayout()   # two short rows: the tab fits a 1024 px window
    top.addWidget(QLabel("Colour by:"))
    top.addWidget(tab.color_by)
    top.addLayout(modes)
    top.addWidget(tab.reset_button)
    top.addStretch(1)
    acts = QHBoxLayout()
    for w in (tab.similar_button, tab.relabel_button, tab.exclude_button, tab.undo_button):
        acts.addWidget(w)
    acts.addStretch(1)
    tab.progress = JobProgressBar()
    tab.progress.setMaximumWidth(240)
    tab.progress.hide()
    acts.addWidget(tab.progress)
    tab.status = QLabel("")
    tab.status.setWordWrap(True)
    tab.plot_holder = QWidget()
    tab.plot_layout = QVBoxLayout(tab.plot_holder)
    tab.plot_layout.setContentsMargins(0, 0, 0, 0)
    tab.placeholder = QLabel(EMPTY)
    tab.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
    tab.placeholder.setWordWrap(True)
    tab.plot_layout.addWidget(tab.placeholder)
    tab.gallery_note = QLabel("Select points with Rectangle or Lasso to see them here.")
    tab.gallery = ImageGallery("Select points with Rectangle or Lasso, or press "
                               "More like this, to see images here.")
    tab.gallery.enable_fixes(tab.fixes)
    box = QWidget()
    gv = QVBoxLayout(box)
    gv.setContentsMargins(0, 0, 0, 0)
    gv.addWidget(tab.gallery_note)
    gv.addWidget(tab.gallery)
    box.setMinimumHeight(tab.gallery.list.gridSize().height() + 40)
    split = QSplitter(Qt.Orientation.Vertical)
    split.addWidget(tab.plot_holder)
    split.addWidget(box)
    split.setSizes([420, 200])
    split.setChildrenCollapsible(False)
    tab.plot_holder.setMinimumHeight(220)
    tab.hover_label = QLabel(tab)
    tab.hover_label.setStyleSheet("background: white; border: 1px solid #888; padding: 2px;")
    tab.hover_label.hide()
    layout = QVBoxLayout(tab)
    layout.setContentsMargins(4, 4, 4, 4)
    layout.addLayout(top)
    layout.addLayout(acts)
    layout.addWidget(tab.status)
    layout.addWidget(split, 1)
