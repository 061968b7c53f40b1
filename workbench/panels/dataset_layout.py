"""The Dataset panel's widgets and their layout (the panel connects what they do to its
own methods), in the manner of a Qt Designer ``setupUi``, as ``training_layout.py`` is for
the Training panel: the longest part of the panel, and apart from its behaviour."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QLabel, QListView, QProgressBar,
                               QPushButton, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout,
                               QWidget)

from training.data.index import SPLIT_NAMES
from workbench.itemmodels.thumbnails import THUMB, ThumbnailModel
from workbench.panels.start_page import StartPage
from workbench.widgets.dataset_views import (BadFilesModel, ClassTable, PreviewPane,
                                             SplitSettings, bad_files_view)
from workbench.widgets.error_details import offer_details
from workbench.widgets.pinned_views import PinnedListView


def setup_ui(panel, chart_slot: QWidget) -> None:
    """Create the Dataset panel's widgets as its attributes and lay them out; ``chart_slot``
    holds the class-distribution chart's place until the panel makes it."""
    col = QVBoxLayout(panel)
    col.setContentsMargins(8, 8, 8, 8)
    # Progress and errors are shown on both pages.
    bar = QHBoxLayout()
    panel.progress = QProgressBar()
    panel.progress.setTextVisible(True)
    panel.cancel_button = QPushButton("Cancel")
    panel.cancel_button.clicked.connect(panel.cancel)
    bar.addWidget(panel.progress, 1)
    bar.addWidget(panel.cancel_button)
    panel.progress_row = QWidget()
    panel.progress_row.setLayout(bar)
    panel.progress_row.setVisible(False)
    panel.error_label = QLabel()
    panel.error_label.setWordWrap(True)
    panel.error_label.setStyleSheet("background:#fdecea;color:#8a1f11;padding:6px;border-radius:4px;")
    panel.error_label.setVisible(False)
    panel.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    offer_details(panel.error_label)

    panel.stack = QStackedWidget()
    panel.start_page = StartPage()
    panel.start_page.openRequested.connect(panel.open_dialog)
    panel.start_page.openPath.connect(lambda p: panel.open_path(p))
    panel.stack.addWidget(panel.start_page)
    panel.stack.addWidget(_view(panel, chart_slot))
    col.addWidget(panel.error_label)
    col.addWidget(panel.progress_row)
    col.addWidget(panel.stack, 1)


def _view(panel, chart_slot: QWidget) -> QWidget:
    """The page that shows an open dataset (the other is the start page)."""
    view = QWidget()
    col = QVBoxLayout(view)
    col.setContentsMargins(0, 0, 0, 0)
    header = panel.header = QHBoxLayout()
    panel.name_label = QLabel()
    panel.name_label.setStyleSheet("font-size: 15pt; font-weight: 600;")
    panel.info_label = QLabel()
    panel.info_label.setStyleSheet("color: #555;")
    # Wraps rather than widening the window ("… · 226 unlabelled" with "checking…").
    panel.info_label.setWordWrap(True)
    panel.bad_badge = QPushButton()
    panel.bad_badge.setFlat(True)
    panel.bad_badge.setCursor(Qt.CursorShape.PointingHandCursor)
    panel.bad_badge.clicked.connect(lambda: panel.tabs.setCurrentIndex(1))
    open_button = QPushButton("Open another…")
    open_button.clicked.connect(lambda: panel.open_dialog("folder"))
    header.addWidget(panel.name_label)
    header.addWidget(panel.info_label, 1)   # takes the room; wraps only when short of it
    header.addWidget(panel.bad_badge)
    header.addWidget(open_button)
    col.addLayout(header)
    # Shown when the largest class is > 3x the smallest (training.recipe.config.imbalance_warning).
    panel.imbalance_label = QLabel()
    panel.imbalance_label.setWordWrap(True)
    panel.imbalance_label.setStyleSheet("color: #8a5a00; background: #fff4d6; padding: 4px;")
    panel.imbalance_label.hide()
    col.addWidget(panel.imbalance_label)
    from workbench.panels.dataset_fixes import foreign_labels_banner

    panel.foreign_banner = foreign_labels_banner(panel)  # label fixes made elsewhere: asks
    col.addWidget(panel.foreign_banner)

    panel.splitter = QSplitter(Qt.Orientation.Horizontal)
    panel.left_splitter = QSplitter(Qt.Orientation.Vertical)
    panel.class_table = ClassTable()
    panel.split_settings = SplitSettings()
    panel.left_splitter.addWidget(panel.class_table)
    panel.left_splitter.addWidget(chart_slot)
    panel.left_splitter.addWidget(panel.split_settings)
    panel.left_splitter.setSizes([220, 300, 120])

    center = QWidget()
    ccol = QVBoxLayout(center)
    ccol.setContentsMargins(0, 0, 0, 0)
    filters = QHBoxLayout()
    panel.class_filter = QComboBox()
    # Not AdjustToContents: a long class name must not push the window past 1024 px.
    panel.class_filter.setSizeAdjustPolicy(
        QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.class_filter.setMinimumContentsLength(8)
    panel.split_filter = QComboBox()
    panel.split_filter.addItems(["All splits"] + list(SPLIT_NAMES))
    panel.class_filter.currentIndexChanged.connect(panel.apply_filter)
    panel.split_filter.currentIndexChanged.connect(panel.apply_filter)
    panel.shown_label = QLabel()
    panel.shown_label.setStyleSheet("color: #555;")
    filters.addWidget(QLabel("Class"))
    filters.addWidget(panel.class_filter, 1)
    filters.addWidget(QLabel("Split"))
    filters.addWidget(panel.split_filter)
    ccol.addLayout(filters)
    panel.thumbs = ThumbnailModel(panel)
    panel.grid = PinnedListView()
    panel.grid.setViewMode(QListView.ViewMode.IconMode)
    panel.grid.setUniformItemSizes(True)   # the view asks only the first item's size
    panel.grid.setLayoutMode(QListView.LayoutMode.Batched)
    panel.grid.setBatchSize(2000)
    panel.grid.setMovement(QListView.Movement.Static)
    panel.grid.setResizeMode(QListView.ResizeMode.Adjust)
    panel.grid.setIconSize(QSize(THUMB, THUMB))
    panel.grid.setGridSize(QSize(THUMB + 16, THUMB + 24))
    panel.grid.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    panel.grid.setModel(panel.thumbs)
    # Several images at once: labelling gives them all a class (issue 23).
    panel.grid.setSelectionMode(QListView.SelectionMode.ExtendedSelection)
    panel.bad_model = BadFilesModel(panel)
    panel.bad_view = bad_files_view(panel.bad_model)
    panel.tabs = QTabWidget()
    panel.tabs.addTab(panel.grid, "Images")
    panel.tabs.addTab(panel.bad_view, "Bad files")
    # Beside the tabs, not in the filter row: that row must fit a 1024 px window.
    panel.shown_label.setContentsMargins(0, 0, 6, 0)
    panel.tabs.setCornerWidget(panel.shown_label, Qt.Corner.TopRightCorner)
    ccol.addWidget(panel.tabs, 1)
    from workbench.panels.dataset_fixes import attach_fixes

    # label fixes: count, "Changed only", grid menu and keys
    panel.changed_filter, panel.fix_label = attach_fixes(panel, filters)
    from workbench.panels.dataset_labelling import LabellingView

    # unlabelled images, the class list and the keys (issue 23); its API: the module
    panel.labelling = LabellingView(panel, panel.header, ccol)
    from workbench.panels.dataset_label_next import LabelNext

    panel.label_next = LabelNext(panel, panel.labelling)   # active learning (issue 23)

    panel.preview = PreviewPane()
    panel.splitter.addWidget(panel.left_splitter)
    panel.splitter.addWidget(center)
    panel.splitter.addWidget(panel.preview)
    panel.splitter.setStretchFactor(1, 1)
    panel.splitter.setSizes([380, 560, 280])
    col.addWidget(panel.splitter, 1)
    return view
