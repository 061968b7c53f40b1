""""Label next" in the Dataset panel's labelling view: the model picks what to label next.

Once every class has a few labels (``training.active.heldback.MIN_PER_CLASS``), a
background round (the ``active_round`` compute request: ``training.active`` runs in the
compute service, never in this process) trains the suggestion model on the labels so far
and ranks the unlabelled images. The ranked queue goes to the labelling view
(``LabellingView.set_queue``): the grid shows it best first, each image with the model's
suggestion on its caption; Enter accepts it, a digit gives another class. After every N
new labels (the box's "every" field, default 20), or sooner when fewer than ``LOW_WATER``
images of the shown queue are left to label, the next round starts and the queue
refreshes when it ends (while a key is labelling, once the keys rest or the shown queue is
used up, the image being looked at kept first: ``REST_S``). Labels given meanwhile never
cancel a running round (rounds take 10-70 s, and a key held down gives N labels in under a
second: superseding, no round would ever end); they start the next one as soon as it ends. Rank now and another
strategy do supersede it. The queue never runs dry while a round is pending: a round
ranks ``RANKED`` images, the grid shows ``QUEUE_LENGTH`` of them at a time and, once
those are labelled, the next ones of that ranking; past its end, the unlabelled images
in grid order, and the view's hint says so. The box in the left column says what is happening
(or how many more labels are needed) and charts the estimated accuracy (on labels held
back from training) against the number of labels. The core builds the queue
(``training.active.queue``): one item in 10 is a random check, shown like any other, whose
label is held back, so the estimate is not pulled down by the hard images the queue shows.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from training.active.heldback import MIN_PER_CLASS, estimate_range, labels_needed, needed_message
from workbench.compute.active import ActiveRoundJob
from workbench.itemmodels.thumbnails import PathRole
from workbench.panels.dataset_label_next_box import LabelNextBox
from workbench.workers.job_runner import JobRunner
from workbench.workers.pool import run_then

log = logging.getLogger(__name__)

QUEUE_LENGTH = 50       # images of the ranking the grid shows at a time
RANKED = 500            # images a round ranks: past the shown ones, what the keys get next
                        # while the next round runs (badge spreads only the first N; the rest
                        # is by uncertainty, so a longer ranking costs a sort, not k-means++)
LOW_WATER = 50          # fewer images of the ranking left to label: the next round is due
                        # (at a person's 1-2 s a label, a round's 10-70 s ahead)
FALLBACK_NOTE = ("The model is ranking again; meanwhile the next unlabelled images in grid "
                 "order, without suggestions.")
INPUT_SIZE = (64, 64)   # the most the small CNN sees (training.active.fastmodel)
# A round's ranking takes the grid once no key has labelled for this long (or when the shown
# queue is used up): swapped in mid-press, the refilled grid's layout and paint fell on the
# next press (276 ms once at load 11) and the image being looked at changed under the keys.
REST_S = 1.0


def labelling_snapshot(index, overlay) -> tuple[list, list, list, dict]:
    """What a round needs, as plain data: ``(paths, labels, classes, counts)``.

    ``paths`` are the index's images then the pool's (``index.unlabelled``) less the
    excluded ones; ``labels`` gives each its class name, or None while it has none (a pool
    image labelled in this session has its overlay label); ``counts`` is ``{class:
    labelled images}``.
    """
    from training.data.pool import class_name, class_totals

    classes = list(index.classes)
    usable = [r not in index.unusable for r in range(len(index.paths))] if index.unusable else None
    paths, labels = [], []
    for r, (p, y) in enumerate(zip(index.paths, index.labels)):
        if usable is None or usable[r]:
            paths.append(p)
            labels.append(class_name(classes, y) if y >= 0 else None)
    known = set(classes)
    given = overlay.labels if overlay is not None else {}
    excluded = overlay.excluded if overlay is not None else set()
    for p in index.unlabelled or []:
        k = overlay.key(p) if overlay is not None else p
        if k in excluded:
            continue
        label = given.get(k)
        paths.append(p)
        labels.append(label if label in known else None)
    return paths, labels, classes, class_totals(index, overlay)


def write_curve(root: str, points: list[dict]) -> None:
    """Save the labelling curve (a pool thread); the curve is a convenience, so a failed
    write is logged and the loop goes on without it."""
    from training.active.curve import save_curve

    try:
        save_curve(root, points)
    except OSError as exc:
        log.warning("Could not save the labelling curve of %s: %s", root, exc)


class LabelNext(QObject):
    """The loop: rounds in the compute service, the queue in the labelling view.

    Signals:
        roundFinished(dict): a round's result (``items``, ``point``…), once the queue shows it.
    """

    roundFinished = Signal(dict)

    def __init__(self, panel, labelling):
        super().__init__(panel)
        self.panel, self.labelling, self.state = panel, labelling, panel.state
        self.fixes = labelling.fixes
        self.points: list[dict] = []
        self._given_at_round: int | None = None   # labels when the running/last round started
        self._ranking: list[dict] = []   # the last round's ranking, best first
        self._served = 0                 # how many of it the grid has shown
        self._partial = False            # it left out some unlabelled images
        self._due = False                # a round is due once the running one ends
        self._curve_due: tuple | None = None   # (root, points) still to write
        self._curve_writing = False            # a write is on the pool
        self._runner = JobRunner(self)
        # A ranking that arrived while the keys were labelling waits for them to rest.
        self._waiting = QTimer(self)
        self._waiting.setSingleShot(True)
        self._waiting.setInterval(int(REST_S * 1000))
        self._waiting.timeout.connect(self._show_ranking)
        self._waited = False
        self.box = LabelNextBox()
        self.box.hide()
        panel.left_splitter.insertWidget(1, self.box)
        self.box.enabled.toggled.connect(self._on_enabled)
        self.box.rank_now.clicked.connect(self.start_round)
        self.box.every.valueChanged.connect(lambda _v: self._update_status())
        self.box.strategy.currentIndexChanged.connect(lambda _i: self._given_at_round is not None
                                                      and self.start_round())
        labelling.activeChanged.connect(self._on_active)
        labelling.queueUsedUp.connect(self._on_used_up)
        self.fixes.changed.connect(self._on_labels)

    # -- the API -----------------------------------------------------------------------
    def busy(self) -> bool:
        return self._runner.busy()

    def shutdown(self) -> None:
        self._runner.shutdown()
        self.box.chart.shutdown()

    def snapshot(self):
        index = self.state.dataset
        return None if index is None else labelling_snapshot(index, self.fixes.overlay)

    def counts(self) -> dict[str, int] | None:
        """``{class: labelled images}`` (None: no dataset). Asked on every key press while
        labelling, before the next image is painted: the full :meth:`snapshot` walks the
        whole pool (2,000 images: ~8 ms a press) and only a round needs it."""
        from training.data.pool import class_totals

        index = self.state.dataset
        return None if index is None else class_totals(index, self.fixes.overlay)

    @Slot()
    def start_round(self) -> bool:
        """Train and rank now (a running round is superseded); False when not ready."""
        snap = self.snapshot()
        if snap is None or not self.box.enabled.isChecked():
            return False
        paths, labels, classes, counts = snap
        if len(classes) < 2 or labels_needed(counts, MIN_PER_CLASS):
            self._update_status()
            return False
        if all(label is not None for label in labels):
            self.box.status.setText("Every image has a class: nothing left to label.")
            return False
        self._given_at_round = sum(counts.values())
        self._due = False
        job = ActiveRoundJob(paths, labels, classes, INPUT_SIZE, "rgb", self.box.strategy.currentData(),
                             max(RANKED, QUEUE_LENGTH), batch=self.box.every.value())
        self._runner.start(job, finished=self._on_round, failed=self._on_failed,
                           progress=self._on_progress)
        self.box.rank_now.setEnabled(False)
        self.box.status.setText("Training the suggestion model…")
        return True

    def dataset_changed(self) -> None:
        """Another dataset (or the same reopened): a fresh loop, the dataset's saved curve."""
        from training.active.curve import load_curve

        self._runner.cancel()
        index = self.state.dataset
        self.points = load_curve(index.root) if index is not None else []
        self.box.chart.set_points(self.points)
        self._given_at_round = None
        self._forget_ranking()
        self.box.rank_now.setEnabled(True)
        if self.labelling.queue() is not None:
            self.labelling.clear_queue()
        self._update_status()
        self._on_labels()

    def _forget_ranking(self) -> None:
        self._ranking, self._served, self._due, self._partial = [], 0, False, False
        self._waiting.stop()
        self._waited = False
        self.labelling.set_note(None)

    # -- reactions -----------------------------------------------------------------------
    @Slot(bool)
    def _on_active(self, on: bool) -> None:
        self.box.setVisible(on)
        if on:
            self._on_labels()

    @Slot(bool)
    def _on_enabled(self, on: bool) -> None:
        if on:
            self._on_labels()
        else:
            self._runner.cancel()
            self._forget_ranking()
            self.box.rank_now.setEnabled(True)
            self.labelling.clear_queue()
            self._update_status()

    @Slot()
    def _on_labels(self) -> None:
        if not self.labelling.is_active() or not self.box.enabled.isChecked():
            return
        counts = self.counts()
        if counts is None:
            return
        busy = self._runner.busy()
        if busy and self._due:
            return   # asked for already: nothing to work out on this key press
        if len(counts) >= 2 and not labels_needed(counts, MIN_PER_CLASS) and self._round_due(counts):
            if busy:
                self._due = True   # started when the running round ends: never superseded by labels
            else:
                self.start_round()
        elif not busy:
            self._update_status()

    def _round_due(self, counts: dict) -> bool:
        """After N labels, or early: fewer than ``LOW_WATER`` images of the ranking are left
        to serve (and a new round would rank images the last one did not)."""
        if self._given_at_round is None:
            return True
        if sum(counts.values()) - self._given_at_round >= self.box.every.value():
            return True
        spare = len(self._ranking) - self._served
        if not self._ranking or not self._partial or spare >= LOW_WATER:
            return False
        to_label = self.labelling.to_label
        return spare + sum(1 for i in self.labelling.queue() or () if to_label(i["path"])) < LOW_WATER

    @Slot()
    def _on_used_up(self) -> None:
        """A key labelled the shown queue's last image: the next of the ranking, else the
        unlabelled images in grid order (the round that will refresh them is due)."""
        self._waiting.stop()   # a ranking waiting for the keys to rest: its first images now
        self._waited = False
        to_label = self.labelling.to_label
        more = []
        while self._served < len(self._ranking) and len(more) < QUEUE_LENGTH:
            item = self._ranking[self._served]
            self._served += 1
            if to_label(item["path"]):
                more.append(item)
        if more:
            self.labelling.set_queue(more, self._rest())
        else:
            self.labelling.clear_queue()
            self.labelling.set_note(FALLBACK_NOTE)
            self.box.status.setText(FALLBACK_NOTE)

    def _rest(self) -> list[str]:
        """The paths of the ranking past the shown queue: the view decodes the first of them
        ahead, so the keys find them ready when the shown queue is used up."""
        return [i["path"] for i in self._ranking[self._served:]]

    @Slot(object)
    def _on_round(self, result: dict) -> None:
        self.box.rank_now.setEnabled(True)
        items = [{"path": i["path"], "suggested": i["suggested"], "score": i.get("confidence")}
                 for i in result.get("items", [])]
        # Images labelled while the round ran are left out of the part the grid shows first;
        # the rest is checked as it is served (_on_used_up). Walking the whole pool here
        # (snapshot) took 30-47 ms of the GUI thread at each round's end under load.
        to_label, head, n = self.labelling.to_label, [], 0
        while n < len(items) and len(head) < QUEUE_LENGTH:
            if to_label(items[n]["path"]):
                head.append(items[n])
            n += 1
        self._ranking, self._served = head + items[n:], 0
        self._partial = int(result.get("pool") or 0) > len(result.get("items", []))
        self.labelling.set_note(None)
        self._show_ranking()
        point = result.get("point")
        if point:
            self.points.append(dict(point))
            self.box.chart.set_points(self.points)
            self._save_curve()
        self._update_status()
        self.roundFinished.emit(result)
        if self._due:   # labels given while it ran: the next round at once
            self.start_round()

    @Slot()
    def _show_ranking(self) -> None:
        """The last round's ranking takes the grid, unless a key labelled in the last
        ``REST_S`` and the image shown is still to label: then the keys go on through the
        grid undisturbed (the shown queue, or every unlabelled image before the first
        round), and the ranking waits for them to rest, or for the shown queue's end, where
        ``_on_used_up`` serves it. The image being looked at stays selected, first of the
        new queue, when it is one of the shown queue or the ranking waited for the keys."""
        view = self.labelling
        shown = {i["path"]: i for i in view.queue() or ()}
        current = self.panel.grid.currentIndex().data(PathRole) if view.is_active() else None
        if not view.to_label(current):
            current = None
        if current is not None and view.next.keys_moving(REST_S):
            self._waited = True
            self._waiting.start()
            return
        self._waiting.stop()
        if current is not None and (current in shown or self._waited):
            # Kept first, with the new ranking's suggestion if it has one.
            mine = next((i for i in self._ranking if i["path"] == current),
                        shown.get(current, {"path": current, "suggested": None, "score": None}))
            self._ranking = [mine] + [i for i in self._ranking if i["path"] != current]
        self._waited = False
        self._served = min(len(self._ranking), QUEUE_LENGTH)
        view.set_queue(self._ranking[:QUEUE_LENGTH], self._rest())
        if self._ranking and view.is_active():
            view.select_next(-1)

    def _save_curve(self) -> None:
        """Write the curve on the app's pool, one write at a time, the newest last: the
        atomic write's fsync took ~30 ms of the GUI thread at every round's end (measured
        with a key held in the labelling bench)."""
        index = self.state.dataset
        if index is None:
            return
        self._curve_due = (index.root, [dict(p) for p in self.points])
        if not self._curve_writing:
            self._write_curve()

    def _write_curve(self, _result=None) -> None:
        job, self._curve_due = self._curve_due, None
        self._curve_writing = job is not None and run_then(self._write_curve, write_curve, *job)
        if job is not None and not self._curve_writing:   # the pool has shut down: the app is closing
            write_curve(*job)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.box.rank_now.setEnabled(True)
        self.box.status.setText(f"Ranking failed: {message}")

    @Slot(int, int, str)
    def _on_progress(self, done: int, total: int, what: str) -> None:
        if total:
            self.box.status.setText(f"{what[:1].upper()}{what[1:]}: {done:,} of {total:,}…")

    def _update_status(self) -> None:
        counts = self.counts()
        box = self.box
        if counts is None:
            box.status.setText("")
            return
        needed = labels_needed(counts, MIN_PER_CLASS)
        if not box.enabled.isChecked():
            box.status.setText("Off: the grid shows every unlabelled image.")
        elif len(counts) < 2:
            box.status.setText(f"Add at least two classes, then label {MIN_PER_CLASS} images of "
                               "each: the model then suggests what to label next.")
        elif needed:
            box.status.setText(needed_message(needed, MIN_PER_CLASS))
        elif self._given_at_round is None:
            box.status.setText("Every class has a few labels: press Rank now (or label one more "
                               "image) and the model suggests what to label next.")
        else:
            given = sum(counts.values())
            left = max(0, box.every.value() - (given - self._given_at_round))
            last = self.points[-1] if self.points else {}
            acc = last.get("accuracy")
            lo, hi = estimate_range(acc or 0.0, last.get("held_back", 0))
            est = (f"estimated accuracy {acc:.0%} ({lo * 100:.0f}-{hi:.0%}) on {last.get('held_back', 0)} labels "
                   "held back at random" if acc is not None else "no labels held back yet")
            box.status.setText(f"{given:,} labels; {est}. Retrains after {left} more "
                               f"label{'s' if left != 1 else ''}.")
