"""The application's shared state: what dataset, model spec, training config and run
are current. Panels read it and listen to its signals; they don't keep copies.

Holds only plain core objects (``DatasetIndex``, ``ModelSpec``, ``TrainConfig``), never
TensorFlow objects, so it is safe to touch from the GUI thread at any time.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class AppState(QObject):
    datasetChanged = Signal()
    specChanged = Signal()
    configChanged = Signal()
    runChanged = Signal(str)
    # A new run folder was written (training finished, stopped or failed).
    runsUpdated = Signal()
    # Text for the status bar (panels don't reach into the main window).
    statusMessage = Signal(str)
    # Requests to the window, from any panel: start training on the current dataset, spec
    # and config, as Training → Start does (see request_training); show the Dataset
    # panel's report of files that could not be used.
    trainingRequested = Signal(object)
    badFilesRequested = Signal()
    # Requests to the Dataset panel, sent once that panel exists (the window builds it
    # first): ask for a source of a kind (folder|csv|idx|npz) with its file dialog, open a
    # path or a DatasetSpec, show the Bad files tab.
    datasetDialogRequested = Signal(str)
    datasetOpenRequested = Signal(object)
    badFilesShown = Signal()
    # The window is saving its settings: panels with UI state of their own save theirs.
    settingsSaving = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.dataset_spec = None   # training.data.DatasetSpec | None
        self.dataset = None        # training.data.DatasetIndex | None
        self.model_spec = None     # training.models.ModelSpec | None
        self.train_config = None   # training.fit.train.TrainConfig | None
        # The epochs Auto last chose (None: not yet); train_config's epochs equal to it are
        # Auto's, not the person's. Saved with the config, so after a restart Auto's number
        # for the last dataset is not taken for the person's own and kept for the next one.
        self.auto_epochs: int | None = None
        self.run_dir: str | None = None
        self.device: str | None = None  # "CPU" or a GPU name, once TensorFlow loaded
        # ((h, w), color_mode) from training.data.suggest_input for the current dataset,
        # computed in the indexing worker; the Model panel uses it as the input default.
        self.input_suggestion = None
        self.label_fixes = None    # workbench.actions.fixes.LabelFixes, made by fixes_for() on first use

    def set_dataset(self, spec, index) -> None:
        self.dataset_spec = spec
        self.dataset = index
        self.datasetChanged.emit()

    def set_model_spec(self, spec) -> None:
        self.model_spec = spec
        self.specChanged.emit()

    def set_train_config(self, config) -> None:
        self.train_config = config
        self.configChanged.emit()

    def set_run(self, run_dir: str | None) -> None:
        self.run_dir = run_dir
        self.runChanged.emit(run_dir or "")

    def request_training(self) -> bool | None:
        """Ask the window to start training (``trainingRequested``; it answers at once).

        Returns:
            True when a run started, False when none could (one is already training, or
            no dataset is open), None when no window listens.
        """
        answers: list[bool] = []
        self.trainingRequested.emit(answers)   # the window appends whether it started
        return bool(answers[0]) if answers else None
