"""What the Training panel reads from a run folder and the app state: the header line,
whether the selected run can be resumed and from which epoch, a run's epoch history."""
from __future__ import annotations

import os
import types


def setup_text(state, resumed_config: dict | None = None, followed_model: str | None = None) -> str:
    """The header: dataset, model and training settings (rich text).

    Args:
        resumed_config: the settings of the run being resumed or followed (shown instead
            of the Model panel's).
        followed_model: the model name of a run another process trains.
    """
    ds = state.dataset
    data = (f"<b>Dataset:</b> {os.path.basename(str(ds.root).rstrip('/')) or ds.root} "
            f"({len(ds.classes)} classes, {len(ds):,} images)" if ds is not None
            else "<b>Dataset:</b> none")
    spec = state.model_spec
    model = (f"<b>Model:</b> {getattr(spec, 'name', None) or getattr(spec, 'template', 'custom')}"
             if spec is not None else "<b>Model:</b> CNN template (default)")
    if followed_model:
        model = f"<b>Model:</b> {followed_model} (followed run)"
    cfg = state.train_config
    if resumed_config:   # the header names the run being resumed, not the Model panel's settings
        cfg = types.SimpleNamespace(**resumed_config)
    if cfg is not None:
        run = (f"{cfg.epochs} epochs · batch {cfg.batch_size} · {cfg.optimizer} "
               f"lr {cfg.learning_rate:g}")
    else:
        run = "default settings"
    return f"{data} &nbsp;·&nbsp; {model} &nbsp;·&nbsp; <b>Training:</b> {run}"


def resumable_run(run_dir: str | None) -> str | None:
    """``run_dir`` when Resume can continue it, else None (a damaged run is simply not
    resumable)."""
    if not run_dir or not os.path.isdir(run_dir):
        return None
    from training.runs.runfolder import RunFolder

    ok, _reason = RunFolder(run_dir).can_resume()
    return run_dir if ok else None


def end_facts(run_dir: str) -> tuple[str, bool, int]:
    """On a pool thread: ``(run_dir, resumable, bad_files)`` from its run.json (and
    classes.json). The panel asks after every change of the run or of its controls; on the
    GUI thread each file read there (open, stat, ``realpath``) released the GIL and waited
    to get it back from a pool thread drawing charts (docs/BENCHMARKS.md section 14)."""
    from workbench.panels.training_bad_files import bad_files_count

    return run_dir, resumable_run(run_dir) is not None, bad_files_count(run_dir)


def read_run_view(run_dir: str) -> tuple[str, bool, list, int]:
    """On a pool thread: what the Training panel shows of a chosen run, ``(run_dir,
    trained elsewhere now, history, bad files)``."""
    from workbench.panels.training_bad_files import bad_files_count
    from workbench.panels.training_follow import running_elsewhere

    elsewhere = running_elsewhere(run_dir)
    return (run_dir, elsewhere, [] if elsewhere else read_history(run_dir),
            0 if elsewhere else bad_files_count(run_dir))


def checkpoint_epoch(run_dir: str | None) -> int | None:
    """The epoch a resume of ``run_dir`` continues after (None: it cannot be resumed)."""
    if resumable_run(run_dir) is None:
        return None
    from training.runs.runfolder import RunFolder

    try:
        return int(RunFolder(run_dir).read_info()["checkpoint"]["epoch"])
    except Exception:  # noqa: BLE001  (a damaged run.json: can_resume said no already)
        return None


def read_history(run_dir: str) -> list:
    from workbench.workers.evaluation import read_history as read

    return read(run_dir)
