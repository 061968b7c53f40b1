"""The end of a training run: which weights it keeps, the final model, the post-fit
pass (calibration, the unknown rule, the evaluation), the run record and the summary.

:class:`RunEnd` is a part of :class:`training.fit.session.Session` (its base class), kept
in a module of its own because it is the one place that decides what ``model_final``
holds: the best-validated epoch's weights, or a short run's last ones
(``training.recipe.epoch_budget.runs_to_the_end``). It uses the session's ``model``,
``state``, ``writer``, ``config``, ``data``, ``index``, ``events`` and ``timings``.
"""
from __future__ import annotations

import time
import traceback

from training.events import Stopped
from training.runs import listing as runs
from training.runs.runfolder import MODEL_BEST, MODEL_FINAL


class RunEnd:
    """The end of :class:`~training.fit.session.Session`'s run (see the module docstring)."""

    def _best_to_full_model(self) -> None:
        """Best weights recorded on the head model -> the same weights on the full model."""
        st = self.state
        if st.best_weights is None or st.best_model is None or st.best_model is self.model:
            return
        current = self.model.get_weights()
        st.best_model.set_weights(st.best_weights)
        st.best_weights, st.best_model = self.model.get_weights(), self.model
        self.model.set_weights(current)

    def _keeps_last_weights(self, phase: str) -> bool:
        """A short cosine phase that trained to its end keeps its last, decayed weights,
        not the best-validated epoch's (``training.recipe.epoch_budget.runs_to_the_end``);
        a stopped one did not reach the decayed end, so the best epoch's are kept."""
        from training.recipe.epoch_budget import runs_to_the_end

        cfg = self.config
        epochs = cfg.fine_tune_epochs if phase == "fine_tune" else cfg.epochs
        return (not self.state.stopped and self.state.epochs_done > 0
                and runs_to_the_end(cfg.lr_schedule, epochs, self._batches()))

    # -- the end -------------------------------------------------------------------
    def _finish(self, evaluate: bool = True) -> runs.RunSummary:
        st, w, cfg = self.state, self.writer, self.config
        trained = self.model is not None and (st.epochs_done > 0 or st.batches_trained > 0)
        result, keep_last = None, False
        if trained:
            self._best_to_full_model()
            keep_last = self._keeps_last_weights(self.phase)
            if keep_last and cfg.restore_best:
                self.events.on_status("Kept the last epoch's weights: a short run trains to the "
                                      "end of its schedule.")
            if cfg.restore_best and st.best_weights is not None and not keep_last:
                self.model.set_weights(st.best_weights)
                if cfg.checkpoint_best and w.has(MODEL_BEST):
                    w.copy_model(MODEL_BEST, MODEL_FINAL)  # the same weights
                else:
                    w.save_model(self.model, MODEL_FINAL)
            else:
                w.save_model(self.model, MODEL_FINAL)
            if evaluate and self.data is not None and not st.stopped:
                result = self._evaluate()
            elif st.stopped:
                # Evaluating would first trace the model (seconds for a backbone), and a
                # stop must take effect within ~2 s; the run can be evaluated later.
                w.update(evaluation="skipped")
                self.events.on_status("Evaluation skipped after the stop; evaluate the run to see results.")
        self._write_counts()
        # After _evaluate: a stop during evaluation marks the run stopped too (resuming it
        # then only evaluates, since every epoch is done).
        status = "stopped" if st.stopped else "complete"
        self.timings["total"] = time.perf_counter() - self.t0
        if self.timings["train"] > 0:
            self.timings["cpu_cores_in_fit"] = self.timings["train_cpu"] / self.timings["train"]
        best = st.best_entry() or {}
        w.update(status=status, finished=time.time(), timings=dict(self.timings),
                 epochs_done=st.epochs_done, best_epoch=st.best_epoch,
                 best_val_loss=best.get("val_loss"), best_val_accuracy=best.get("val_accuracy"),
                 early_stopped=st.early_stopped, kept_last_weights=keep_last)
        cores = self.timings.get("cpu_cores_in_fit")
        self.events.on_status(f"Run {status}: {st.epochs_done} epoch(s)"
                              + (f", test accuracy {result['accuracy']:.4f}" if result else "")
                              + (f"; {cores:.2f} CPU cores busy during training on average"
                                 if cores else ""))
        return self._summary(status, result)

    def _evaluate(self) -> dict | None:
        from training.inference.evaluate import evaluate_arrays
        from training.trust.fitting import fit_trust, model_passes
        from training.trust.rule import Trust

        t = time.perf_counter()
        try:
            # One forward pass over validation, the reference subsample and test, shared by
            # the temperature and unknown rule (from validation, before the test numbers)
            # and the evaluation with its galleries.
            passes = model_passes(self.model, self.data, self.events, self.config.seed)
            fit_trust(self.model, self.data, self.writer.path, self.events, seed=self.config.seed,
                      passes=passes)
            result = evaluate_arrays(self.model, self.data, self.index.paths, self.index.classes,
                                     self.events, batch_size=max(self.config.batch_size, 64),
                                     seed=self.config.seed, trust=Trust.load(self.writer.path),
                                     passes=passes)
        except Stopped:
            # Training itself finished and its models are saved; only the test numbers are
            # missing. The run is marked "stopped" (not complete) so the runs list shows it
            # as partial, and Resume or Evaluate fills them in later.
            self.state.stopped = True
            self.events.on_status("Evaluation stopped; the trained model is saved. Resume or "
                                  "evaluate the run to get its test results.")
            self.writer.update(evaluation="skipped")
            return None
        finally:
            self.timings["evaluate"] = time.perf_counter() - t
        if result is None:
            self.events.on_status("No test or validation images: evaluation skipped.")
            return None
        result.update(run_dir=str(self.writer.path), test_accuracy=result["accuracy"],
                      test_loss=result["loss"], dataset_fingerprint=self.index.fingerprint(),
                      warnings=[])
        self.writer.write_evaluation(result)
        from training.fit.tensorboard import log_confusion_matrix

        log_confusion_matrix(self.writer.path, result["confusion_matrix"], result["classes"],
                             self.state.epochs_done)
        self.writer.update(test_accuracy=result["accuracy"], test_loss=result["loss"],
                           evaluated_on=result["split"], evaluation="done")
        return result

    def _fail(self, exc: BaseException) -> None:
        if self.writer is None:
            return
        message = f"{type(exc).__name__}: {exc}"
        self.timings["total"] = time.perf_counter() - self.t0
        try:
            self.writer.update(status="failed", finished=time.time(), error=message,
                               traceback=traceback.format_exc(limit=20), timings=dict(self.timings),
                               epochs_done=self.state.epochs_done)
        except OSError:
            pass  # the original error matters more than a failed status write

    def _summary(self, status: str, result: dict | None) -> runs.RunSummary:
        st = self.state
        best = st.best_entry() or {}
        return runs.RunSummary(
            run_dir=str(self.writer.path), status=status, model=self.spec.name,
            classes=list(self.index.classes), epochs_done=st.epochs_done, best_epoch=st.best_epoch,
            best_val_loss=best.get("val_loss"), best_val_accuracy=best.get("val_accuracy"),
            test_loss=result["loss"] if result else None,
            test_accuracy=result["accuracy"] if result else None,
            confusion_matrix=result["confusion_matrix"] if result else None,
            history=[dict(h) for h in st.history], timings=dict(self.timings), device=self.device)
