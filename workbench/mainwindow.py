"""The main window: a sidebar of five panels, menus, shortcuts, status bar and the
compute device (asked of the compute service once the window is up)."""
from __future__ import annotations

import logging
import os
import time

from PySide6.QtCore import QSize, QTimer, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import (QFileDialog, QLabel, QListWidget, QListWidgetItem, QMainWindow,
                               QMenu, QMessageBox, QStackedWidget, QWidget, QHBoxLayout)

from training.data.kinds import OPEN_ACTIONS
from workbench.actions import shortcuts
from workbench.actions.helpmenu import add_help_menu
from workbench.actions.quit_guard import confirm_quit
from workbench.appstate.session_restore import ResumableRuns, fill_recent_runs, save_session
from workbench.actions.training_actions import add_training_actions, start_training
from workbench.appstate.settings import Settings, ensure_model_state
from workbench.appstate.state import AppState
from workbench.panels.registry import (PANEL_KEYS, PANELS, ImportWorker,
                                       Panels, PlaceholderPanel)
from workbench.widgets.error_details import details_link, offer_details
from workbench.widgets.wheel_guard import install_wheel_guard
from workbench.widgets.wrap import human_size
from workbench.workers.job_runner import JobRunner
from workbench import compute
from workbench.compute.requests import DeviceProbeJob

log = logging.getLogger(__name__)

ICONS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "resources", "icons")


FIRST_PAINT_GRACE_MS = 150


def _fill_recent(menu, paths: list[str], open_path) -> None:
    """Refill a "recent" submenu: one action per path, calling ``open_path(path)``."""
    menu.clear()
    for p in paths:
        menu.addAction(p).triggered.connect(lambda _=False, path=p: open_path(path))
    if not paths:
        menu.addAction("(none yet)").setEnabled(False)


class MainWindow(QMainWindow):
    """Args:
        state: the shared :class:`AppState` (a new one when None).
        probe_device: ask the compute service for the device once shown (this starts the
            service, which imports TensorFlow in its own process).
    """

    def __init__(self, state: AppState | None = None, probe_device: bool = True, parent=None):
        super().__init__(parent)
        self.state = state or AppState(self)
        self.settings = Settings()
        self.setWindowTitle("Image Classification Workbench")
        install_wheel_guard()   # combo and spin boxes take the wheel only when focused
        self._probe_device = probe_device
        # The panel-module import and the device probe (the TensorFlow import): each runs
        # once per window and is waited for at shutdown.
        self._imports = JobRunner(self)
        self._probe = JobRunner(self)
        self._probe_started = False
        self._shut_down = False
        # Panels are built on first use (see panels.registry.Panels); the one shown first is built now,
        # the others right after the first paint, so the window appears fast.
        self.panels: dict[str, QWidget] = Panels(self._build_panel)
        self._deferred_started = False

        self.sidebar = QListWidget()
        self.sidebar.setIconSize(QSize(22, 22))
        self.sidebar.setFixedWidth(150)
        self.sidebar.setStyleSheet("QListWidget{border:none;background:#eef1f5;font-size:11pt;}"
                                   "QListWidget::item{padding:10px 8px;}"
                                   "QListWidget::item:selected{background:#d4e0f0;color:black;}")
        self.stack = QStackedWidget()
        for _key, _module, _cls, label, icon in PANELS:
            self.stack.addWidget(QWidget())  # stands in until the panel is built
            QListWidgetItem(QIcon(os.path.join(ICONS, icon)), label, self.sidebar)
        self.sidebar.currentRowChanged.connect(self._on_row)
        central = QWidget()
        row = QHBoxLayout(central)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(self.sidebar)
        row.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        self.device_label = QLabel("Device: starting the compute service…" if probe_device
                                   else "Device: not checked yet")
        offer_details(self.device_label)   # the probe's traceback when TensorFlow can't start
        self.statusBar().addPermanentWidget(self.device_label)
        self.state.statusMessage.connect(self._show_status)
        self.state.runChanged.connect(self._remember_run)
        self.state.badFilesRequested.connect(self.show_bad_files)
        self.state.trainingRequested.connect(self._start_training_for)
        compute.app_client().serviceDied.connect(self._on_service_died)
        self.resumable = ResumableRuns(self)
        self._build_menus()
        # The spec is restored here, not by the Model panel, which is built later.
        ensure_model_state(self.state, self.settings)
        self._restore()

    # -- construction ---------------------------------------------------------------------------
    def _build_panel(self, key: str) -> QWidget:
        """Build panel ``key`` and put it in its place in the stack."""
        i = PANEL_KEYS.index(key)
        _key, load, _cls, label, _icon = PANELS[i]
        panel = self._make_panel(load, label)
        dict.__setitem__(self.panels, key, panel)
        current = self.stack.currentIndex()
        stand_in = self.stack.widget(i)
        self.stack.insertWidget(i, panel)
        self.stack.removeWidget(stand_in)
        stand_in.deleteLater()
        self.stack.setCurrentIndex(current)
        return panel

    @Slot(int)
    def _on_row(self, row: int) -> None:
        if row < 0:
            return
        self.panels[PANEL_KEYS[row]]  # builds it on first use
        self.stack.setCurrentIndex(row)

    def _start_deferred_work(self) -> None:
        """After the first paint: import the other panels' modules (matplotlib, ~1 s) in a
        worker, build those panels on the GUI thread, then start the device probe (the
        TensorFlow import), so neither delays the window's first appearance."""
        if self._deferred_started or self._shut_down:
            return
        self._deferred_started = True
        loaders = [load for k, load, _c, _l, _i in PANELS if k not in self.panels]
        self._imports.start(ImportWorker(loaders), done=lambda: QTimer.singleShot(0, self._build_next))

    @Slot()
    def _build_next(self) -> None:
        if self._shut_down:
            return
        missing = [k for k in PANEL_KEYS if k not in self.panels]
        if missing:
            self.panels[missing[0]]
            QTimer.singleShot(0, self._build_next)   # one panel per event-loop turn
            return
        self.resumable.refresh()
        if self._probe_device and not self._probe_started and self.state.device is None:
            self.start_device_probe()

    def _make_panel(self, load, label: str) -> QWidget:
        try:
            panel_cls = load()
        except (ImportError, AttributeError) as exc:
            return PlaceholderPanel(label, f"{type(exc).__name__}: {exc}")
        return panel_cls(self.state, self)

    def export_model(self):
        """File → Export model…: the Results panel's export dialog for the current run."""
        if not self.state.run_dir:
            self.statusBar().showMessage("Export model: open or train a run first "
                                         "(File → Open run…).", 10000)
            return None
        return self.panels["results"].open_export_dialog(self.state.run_dir)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        for action in OPEN_ACTIONS:
            act = QAction(action.text, self)
            if action.key == "folder":
                shortcuts.bind(act, "open_dataset")
            act.triggered.connect(lambda _=False, k=action.key: self.open_dataset_dialog(k))
            file_menu.addAction(act)
        open_run = QAction("Open &run…", self)
        shortcuts.bind(open_run, "open_run")
        open_run.triggered.connect(self.open_run_dialog)
        file_menu.addAction(open_run)
        export_model = QAction("&Export model…", self)
        export_model.setToolTip("Export the current run's model to SavedModel, ONNX and TFLite")
        export_model.triggered.connect(lambda _=False: self.export_model())
        file_menu.addAction(export_model)
        file_menu.addSeparator()
        self.recent_datasets_menu = QMenu("Recent &datasets", self)
        self.recent_runs_menu = QMenu("Recent r&uns", self)
        self.recent_datasets_menu.aboutToShow.connect(self._fill_recent_datasets)
        self.recent_runs_menu.aboutToShow.connect(self._fill_recent_runs)
        file_menu.addMenu(self.recent_datasets_menu)
        file_menu.addMenu(self.recent_runs_menu)
        file_menu.addSeparator()
        quit_act = QAction("&Quit", self)
        shortcuts.bind(quit_act, "quit")
        quit_act.triggered.connect(self.close)
        file_menu.addAction(quit_act)
        tools_menu = self.menuBar().addMenu("&Tools")
        self.clear_cache_action = QAction("Clear decoded-image &cache…", self)
        self.clear_cache_action.setToolTip("Delete the decoded copies of dataset images that make "
                                           "later trainings start faster (your images are not touched)")
        self.clear_cache_action.triggered.connect(lambda _=False: self.clear_cache())
        tools_menu.addAction(self.clear_cache_action)
        view_menu = self.menuBar().addMenu("&View")
        for i, (key, _m, _c, label, _icon) in enumerate(PANELS):
            act = QAction(label, self)
            shortcuts.bind(act, f"panel_{i + 1}")
            act.triggered.connect(lambda _=False, k=key: self.show_panel(k))
            view_menu.addAction(act)
            self.addAction(act)
        self.training_actions = add_training_actions(self)
        from workbench.actions.fixes import add_edit_menu

        self.undo_action, self.redo_action, self.folder_actions = add_edit_menu(self, self.state)
        self.help_actions = add_help_menu(self)

    def _fill_recent_datasets(self) -> None:
        _fill_recent(self.recent_datasets_menu, self.settings.recent_datasets(), self.open_dataset)

    def _fill_recent_runs(self) -> None:
        fill_recent_runs(self.recent_runs_menu, self.settings.recent_runs(), self.resumable.runs,
                         self.open_run, self.resume_run)

    @Slot(object)
    def _start_training_for(self, answers: list) -> None:
        """A panel's ``state.request_training()``: Training → Start, and whether it started."""
        answers.append(start_training(self))

    @Slot()
    def show_bad_files(self) -> None:
        """The Dataset panel's report of files that could not be used."""
        self.show_panel("data")   # builds it first: it listens from then on
        self.state.badFilesShown.emit()

    def resume_run(self, run_dir: str) -> None:
        """Select ``run_dir`` and resume it on the Training panel (File → Recent runs)."""
        self.state.set_run(os.path.abspath(run_dir))
        self.show_panel("train")
        self.panels["train"].resume_training()

    # -- actions ----------------------------------------------------------------------------------
    def show_panel(self, key: str) -> None:
        """Switch to panel ``key`` (``data|model|train|results|classify``)."""
        self.sidebar.setCurrentRow(PANEL_KEYS.index(key))

    def current_panel_key(self) -> str:
        return PANEL_KEYS[max(0, self.stack.currentIndex())]

    def open_dataset_dialog(self, kind: str = "folder") -> None:
        self.show_panel("data")
        self.state.datasetDialogRequested.emit(kind)

    def open_dataset(self, path: str) -> None:
        self.show_panel("data")
        self.state.datasetOpenRequested.emit(path)

    def open_run_dialog(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Open run folder", self.settings.last_folder("run"))
        if d:
            self.settings.set_last_folder("run", d)
            self.open_run(d)

    def open_run(self, run_dir: str) -> None:
        self.state.set_run(os.path.abspath(run_dir))
        self.show_panel("results")

    def clear_cache(self, confirm: bool = True) -> int | None:
        """Delete the decoded-image cache (``training.data.clear_cache``) after asking.

        Clearing is a few file deletions (measured here: 7 ms for 40 files totalling
        69 MB), so it runs on the GUI thread rather than in a worker. Only the cache's own files go;
        a training that is reading the cache keeps its open copy and simply decodes again
        next time.

        Args:
            confirm: ask first (tests pass False).

        Returns:
            Bytes freed, or None when the person declined.
        """
        from training.data import cache_dir, cache_size, clear_cache, stores_in_use

        size = cache_size()
        if confirm:
            answer = QMessageBox.question(
                self, "Clear decoded-image cache",
                f"The decoded-image cache in {cache_dir()} holds {human_size(size)}.\n\n"
                "Delete it? Your images and runs are not touched; the next training decodes "
                "its images again.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return None
        t = time.perf_counter()
        freed = clear_cache()
        self.last_clear_seconds = time.perf_counter() - t
        busy = stores_in_use()
        kept = f" {busy} in use (a training or check is reading it) kept; clear again later." if busy else ""
        self.statusBar().showMessage(f"Cleared the decoded-image cache: {human_size(freed)} freed.{kept}",
                                     10000)
        return freed

    @Slot(str)
    def _remember_run(self, run_dir: str) -> None:
        if run_dir and os.path.isdir(run_dir):
            self.settings.add_recent_run(run_dir)

    @Slot(str)
    def _show_status(self, message: str) -> None:
        self.statusBar().showMessage(message, 10000)

    # -- device probe -------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        super().showEvent(event)
        # Give the window its first paint before the heavy imports start.
        QTimer.singleShot(FIRST_PAINT_GRACE_MS, self._start_deferred_work)

    def start_device_probe(self) -> None:
        """Ask the compute service (starting it) which device TensorFlow uses, and show it."""
        if self._probe_started:
            return
        self._probe_started = True
        self._probe.start(DeviceProbeJob(), finished=self._on_device, failed=self._on_device_failed)

    def device_probe_running(self) -> bool:
        """True while the probe runs, or is still to start (it waits for the panels)."""
        if self._probe_started:
            return self._probe.busy()
        return self._probe_device and self.state.device is None and not self._shut_down

    def _on_device(self, info: dict) -> None:
        name = str(info.get("name") or "CPU")
        self.state.device = name
        missing = info.get("gpu_missing")
        if missing:
            # "NVIDIA driver 550 found, but …: training uses the CPU. Install …": the label
            # says what is missing; the tooltip also says what to do.
            self.device_label.setText(f"Device: {name} ({missing.split(': training uses')[0]})")
            self.device_label.setToolTip(missing)
        else:
            self.device_label.setText(f"Device: {name}")
            self.device_label.setToolTip("The device TensorFlow computes on (in the compute service).")

    @Slot(str)
    def _on_service_died(self, message: str) -> None:
        self.statusBar().showMessage(message + " Help → Open log folder has the details.", 20000)

    def _on_device_failed(self, message: str) -> None:
        self.device_label.setText("Device: unavailable" + details_link())
        self.device_label.setToolTip(f"TensorFlow could not start: {message}")

    # -- settings / shutdown ------------------------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.bytes_value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1280, 800)
        state = self.settings.bytes_value("window/state")
        if state is not None:
            self.restoreState(state)
        key = str(self.settings.value("window/panel", "data"))
        self.show_panel(key if key in PANEL_KEYS else "data")

    def save_settings(self) -> None:
        self.settings.set_value("window/geometry", self.saveGeometry())
        self.settings.set_value("window/state", self.saveState())
        self.settings.set_value("window/panel", self.current_panel_key())
        spec = self.state.model_spec
        if spec is not None and hasattr(spec, "to_dict"):
            self.settings.set_last_spec(spec.to_dict())
        save_session(self.settings, self.state)
        self.state.settingsSaving.emit()
        self.settings.sync()

    def shutdown(self) -> None:
        """Save settings, stop every panel's workers and wait for them (idempotent)."""
        if self._shut_down:
            return
        self._shut_down = True
        self.save_settings()
        from workbench.workers.overlay_writer import flush

        flush()   # the last labels given are on disk before the window goes
        for panel in self.panels.values():
            try:
                panel.shutdown()
            except Exception:  # keep closing the other panels
                log.exception("%s.shutdown failed", type(panel).__name__)
        self.resumable.stop()
        self._imports.shutdown(30000)   # imports can't be interrupted; seconds at most
        self._probe.shutdown()
        try:
            compute.app_client().serviceDied.disconnect(self._on_service_died)
        except (RuntimeError, TypeError):
            pass

    def closeEvent(self, event) -> None:
        if not self._shut_down and not confirm_quit(self):
            event.ignore()   # the user chose to keep training
            return
        self.shutdown()
        super().closeEvent(event)
