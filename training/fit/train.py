"""``train()`` and ``resume()``: one training run, from a dataset and a spec to a run folder.

The flow: open the dataset (no decoding) -> build the model (so a bad spec fails before
anything is written) -> create the run folder -> decode every image once (cached) ->
head phase (on cached backbone features when the backbone is frozen) -> optional
fine-tune phase that continues the epoch count -> restore the best weights -> save ->
evaluate. Progress and stop requests go through :class:`training.events.Events`.
"""
from __future__ import annotations

import time

from training.cpus import configure_threads
from training.fit.callbacks import TrainState
from training.fit.rng import restore_seed_states
from training.recipe.config import TrainConfig
from training.fit.distributed import placement, private_copy, saved_config, step_config, worker_run_dir
from training.fit.step_loop import attach
from training.events import Events
from training.runs.writer import RunWriter
from training.runs.runfolder import (HISTORY_JSON, RunError, RunFolder,
                                load_model_file, write_json)
from training.runs.listing import RunSummary
from training.fit.session import Session, free_memory, precision_policy

__all__ = ["TrainConfig", "RunSummary", "train", "resume"]


def train(dataset, spec, config: TrainConfig | None = None, events: Events | None = None,
          run_dir: str | None = None) -> RunSummary:
    """Train ``spec`` on ``dataset`` and write a run folder.

    Args:
        dataset: a ``DatasetSpec``, a path, or an already opened ``DatasetIndex``.
        spec: a ``ModelSpec`` (or its dict).
        config: a ``TrainConfig`` (defaults if None).
        events: progress sink and stop flag (see ``training.events``).
        run_dir: the run folder to create (must not hold a run); by default a new
            ``<timestamp>_<model>`` folder under ``training.runs.runfolder.default_runs_root()``.

    Returns:
        A :class:`RunSummary`; ``status`` is ``"complete"`` or ``"stopped"``.

    Raises:
        DatasetError: the dataset cannot be opened or has no training images.
        SpecError: the spec cannot be built (nothing is written then).
        RunError: ``run_dir`` already holds a run.
        Any other exception is re-raised after marking the run ``"failed"``.
    """
    from training.data import DatasetSpec, open_dataset
    from training.data.index import DatasetIndex
    from training.data.overlay_apply import overlay_record, overlay_snapshot
    from training.data.sources import check_trainable
    from training.fit.device import describe_devices
    from training.models import ModelSpec

    events = events or Events()
    config = config or TrainConfig()
    if isinstance(spec, dict):
        spec = ModelSpec.from_dict(spec)
    t0 = time.perf_counter()
    configure_threads()  # TensorFlow's pools from the CPUs this process may use, before any op
    place = placement(config)  # first: a multi-worker strategy must exist before any TF op
    free_memory()
    device = describe_devices()
    events.on_status(f"Training on {device['name']}")
    if isinstance(dataset, DatasetIndex):
        index = dataset
        dspec = getattr(index, "spec", None)
        dataset_spec = dspec.to_dict() if dspec is not None else {"path": index.root, "kind": index.kind}
    else:
        dspec = dataset if isinstance(dataset, DatasetSpec) else DatasetSpec.coerce(dataset)
        index = open_dataset(dspec, events)
        dataset_spec = dspec.to_dict()

    config.class_weight_for(index.classes, [])  # a misspelt class fails before any file is written
    events.on_status(labelled_line(check_trainable(index), len(index.unlabelled)))
    from training.recipe.guardrails import review

    advice = review(spec, config, index.counts())  # may unfreeze a random backbone
    for a in advice:
        events.on_status(f"{'note' if a.level == 'fixed' else 'warning'}: {a.message}")
    with precision_policy(config.mixed_precision, bool(device["gpus"]), events):
        session = Session(index, spec, step_config(config, place), events, device["name"], t0)
        with place.strategy.scope():  # the model and its optimizer are built in the scope
            session.build()  # SpecError here leaves no run folder behind
        writer = RunWriter.create(run_dir if place.chief else worker_run_dir(place.task), spec.name)
        writer.start(model=spec.name, spec=spec.to_dict(), config=config.to_dict(),
                     dataset={"spec": dataset_spec, "fingerprint": index.fingerprint(),
                              "classes": list(index.classes), "counts": index.counts(),
                              "num_samples": len(index), "bad_files": len(index.bad_files),
                              "overlay": overlay_record(index)},
                     classes=list(index.classes), device=device["name"], seed=config.seed)
        if advice:
            writer.update(warnings=[a.message for a in advice])
        snapshot = overlay_snapshot(index)
        if snapshot is not None:  # the exact label fixes this run learned from
            write_json(RunFolder(writer.path).label_overlay_json, snapshot)
        attach(session, writer, place, config)  # live.json, stop.request, the step loop
        events.on_status(f"Run folder: {writer.path}")
        return _run_and_release(session)


def labelled_line(totals: dict[str, int], unlabelled: int) -> str:
    """``"Training on 14 labelled images: cat 8, dog 6 (300 unlabelled left out)"``."""
    shown = ", ".join(f"{c} {n:,}" for c, n in list(totals.items())[:12])
    more = f", … {len(totals) - 12} more classes" if len(totals) > 12 else ""
    left = f" ({unlabelled:,} unlabelled left out)" if unlabelled else ""
    return f"Training on {sum(totals.values()):,} labelled images: {shown}{more}{left}"


def resume(run_dir, events: Events | None = None, dataset=None, devices: str | None = None,
           multi_worker: bool | None = None) -> RunSummary:
    """Continue a stopped, failed or interrupted run from its last epoch checkpoint.

    The model, its optimizer state and the epoch count come from ``model_last.keras``
    and ``run.json``; the dataset is reopened from ``dataset.json`` unless given.
    ``devices`` / ``multi_worker`` override the run's own (``training.fit.distributed``): a
    multi-worker run can be resumed on one machine and the other way round.

    Raises:
        RunError: the run is complete, still running, or has no checkpoint (stopped
            before its first epoch ended); or its files are damaged.
    """
    from training.fit.device import describe_devices
    from training.models import ModelSpec

    events = events or Events()
    t0 = time.perf_counter()
    overrides = {k: v for k, v in (("devices", devices), ("multi_worker", multi_worker))
                 if v is not None}
    configure_threads()
    place = placement(saved_config(run_dir, overrides))  # before any TF op, as in train()
    if not place.chief:
        run_dir = private_copy(run_dir, place.task)  # the chief alone writes the shared folder
    ok, reason = RunFolder(run_dir).can_resume()
    if not ok:
        raise RunError(reason)
    writer = RunWriter.open(run_dir)
    run = writer.load()
    checkpoint = writer.info["checkpoint"]
    # SpecError and the config's ValueError are both ValueErrors: name the file in either.
    try:
        spec = ModelSpec.from_dict(writer.read_spec())
    except ValueError as exc:
        raise RunError(f"{writer.spec_json}: {exc}") from None
    config = saved_config(run_dir, overrides)
    free_memory()
    device = describe_devices()
    index, warnings = writer.open_dataset(dataset, events)
    if list(index.classes) != list(run["classes"]):
        raise RunError(f"The dataset's classes {list(index.classes)} differ from the run's "
                       f"classes {run['classes']}; cannot resume on it.")
    for w in warnings:
        events.on_status(w)
    epochs_done = int(checkpoint.get("epoch", 0))
    history = writer.read(HISTORY_JSON)
    state = TrainState(history=list(history)[:epochs_done] if isinstance(history, list) else [],
                       best_loss=checkpoint.get("best_loss"), best_epoch=checkpoint.get("best_epoch"),
                       wait=int(checkpoint.get("wait", 0)))
    if len(state.history) != epochs_done:
        raise RunError(f"{writer.history_json} has {len(state.history)} epochs but the "
                       f"checkpoint is after epoch {epochs_done}; the run folder is damaged.")
    state.head_finished = bool(checkpoint.get("head_finished"))
    events.on_status(f"Resuming {writer.path.name} after epoch {epochs_done}")
    with place.strategy.scope():  # the loaded model and optimizer live in the strategy
        model = writer.load_model("last", compile=True)
        restore_seed_states(model, checkpoint.get("rng_state"))  # augmentation, dropout
        if writer.model_best.is_file():
            best = load_model_file(writer.own_file(writer.model_best), compile=False)
            state.best_weights = best.get_weights()
            del best
    writer.reopen(device["name"])
    writer.update(warnings=list(writer.info.get("warnings") or []) + warnings)
    session = Session(index, spec, step_config(config, place), events, device["name"], t0)
    attach(session, writer, place, config)
    session.adopt(model, state, phase=checkpoint.get("phase", "train"))
    del model
    return _run_and_release(session)


def _run_and_release(session: Session) -> RunSummary:
    """Run, then drop Keras' state for the run's graph and model.

    The full ``gc`` (0.2-1 s) is left to the next ``train()``, which always starts with
    it: after a stop so that the stop takes effect quickly, and after a complete run
    because the process that ran it usually exits next (the CLI, the app's training
    process), where collecting would only delay its end (issue 21's 28x28 benchmark).
    A stop skips even ``clear_session``.
    """
    stopped = True
    try:
        summary = session.run()
        stopped = summary.status != "complete"
        return summary
    finally:
        session.release()
        del session
        if not stopped:
            free_memory(collect=False)

