"""Run folders from anywhere are data, never instructions (issue 25): every JSON file is
size-capped and schema-checked with a clear message, a model that is a link out of the
folder is refused, nothing read from a run folder makes the app write outside it, and
reading a hostile folder cannot hang or exhaust memory. A sentinel tree outside the
folder hashes the same before and after."""
from __future__ import annotations

import json
import os
import threading
import time
import zipfile

import numpy as np
import pytest

from tests.hostile_folders import deep_json, sentinel, tree_hash
from training import safefiles
from training.runs import checks, runfolder
from training.runs.follow import read_live_checked, request_stop
from training.runs.listing import list_runs
from training.runs.manage import list_runs_labelled, rename_run
from training.runs.runfolder import RunError, RunFolder
from training.runs.writer import RunWriter

GOOD_RUN = {"schema_version": 1, "status": "complete", "model": "mlp", "started": 1.0,
            "finished": 2.0, "epochs_done": 1}


@pytest.fixture
def world(tmp_path):
    run = tmp_path / "runs" / "shared"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps(GOOD_RUN))
    (run / "classes.json").write_text('["a", "b"]')
    outside = sentinel(tmp_path)
    return run, outside, tree_hash(outside)


def _evaluation(n=3) -> dict:
    preds = [{"row": i, "path": f"/d/{i}.png", "true": i % 2, "pred": 0, "true_class": "a",
              "pred_class": "a", "confidence": 0.6, "probabilities": [0.6, 0.4]} for i in range(n)]
    return {"num_samples": n, "loss": 0.5, "accuracy": 0.5, "classes": ["a", "b"],
            "confusion_matrix": [[2, 0], [1, 0]], "per_class": [
                {"class": "a", "precision": 0.6, "recall": 1.0, "f1": 0.7, "support": 2}],
            "macro_avg": {"precision": 0.3}, "predictions": preds, "most_incorrect": preds[:1],
            "random_sample": preds}


@pytest.mark.parametrize("content, words", [
    (lambda: deep_json(), "nested too deeply"),
    (lambda: '{"schema_version": 1, "status": "complete", "model": "m", "started": NaN, '
             '"epochs_done": 1}', "NaN"),
    (lambda: '{"schema_version": 1, "status": "complete", "model": "m", "started": Infinity, '
             '"epochs_done": 1}', "Infinity"),
    (lambda: json.dumps({**GOOD_RUN, "epochs_done": "3"}), "wrong type"),
    (lambda: json.dumps({**GOOD_RUN, "status": "running", "pid": 10 ** 30}), "pid must be"),
    (lambda: json.dumps({**GOOD_RUN, "host": ["x"] * 3}), "host name"),
    (lambda: json.dumps({**GOOD_RUN, "schema_version": 2}), "newer version"),
    (lambda: json.dumps({**GOOD_RUN, "model": "m" * 100_000}), "model must be a name"),
    (lambda: json.dumps(GOOD_RUN) + " " * (2 * 1024 * 1024), "may be at most 1.0 MB"),
    (lambda: '{"schema_version": ' + "9" * 5000 + "}", "digits"),
    (lambda: b"\xff\xfe{}", "not UTF-8"),
])
def test_hostile_run_json_gets_a_clear_message(world, content, words):
    run, outside, before = world
    data = content()
    (run / "run.json").write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(RunError, match=words) as info:
        RunFolder(run).load()
    assert "run.json" in str(info.value) and len(str(info.value)) < 600
    [row] = list_runs(run.parent)   # listed as invalid, the others still listed
    assert row["status"] == "invalid" and words.split()[0] in row["error"]
    assert tree_hash(outside) == before


def test_files_that_are_not_regular_files_or_lead_outside_are_refused_without_blocking(world):
    run, outside, before = world
    os.mkfifo(run / "history.json")        # opening a FIFO for reading blocks without O_NONBLOCK
    os.symlink(outside / "config.json", run / "spec.json")
    os.symlink("loop2", run / "config.json")
    os.symlink("config.json", run / "loop2")
    t0 = time.monotonic()
    assert RunFolder(run).history() == []
    with pytest.raises(RunError, match="not a regular file"):
        runfolder.read_json(run / "history.json")
    with pytest.raises(RunError, match="outside"):
        RunFolder(run).read_spec()
    with pytest.raises(RunError):
        RunFolder(run).read_config()
    assert time.monotonic() - t0 < 5
    assert tree_hash(outside) == before


def test_a_model_that_is_a_link_out_of_the_folder_is_refused(world):
    run, outside, before = world
    os.symlink(outside / "secret.keras", run / "model_final.keras")
    with pytest.raises(RunError, match="outside the run folder"):
        RunFolder(run).model_file("final")
    with pytest.raises(RunError, match="outside the run folder"):
        RunFolder(run).load_model("best")   # falls back to final: refused too
    os.symlink(outside / "secret.keras", run / "model_last.keras")
    with pytest.raises(RunError, match="outside the run folder"):
        RunFolder(run).load_model("last")
    (run / "inside.keras").write_bytes(b"x")
    os.remove(run / "model_final.keras")
    os.symlink("inside.keras", run / "model_final.keras")   # a link inside the folder is fine
    assert RunFolder(run).model_file("final") == run / "model_final.keras"


def test_history_keeps_only_epochs_with_plain_values(world):
    run, _, _ = world
    (run / "history.json").write_text(json.dumps([
        {"epoch": 1, "loss": 0.5, "val_loss": None, "phase": "train", "best": True,
         "junk": {"nested": [1]}, "lr": [1e-3]},
        {"epoch": "2", "loss": 0.4}, {"epoch": 0}, {"epoch": True}, "text", None,
        {"epoch": 3, "loss": "x" * 1000, "accuracy": 0.9}]))
    assert RunFolder(run).history() == [
        {"epoch": 1, "loss": 0.5, "val_loss": None, "phase": "train", "best": True},
        {"epoch": 3, "accuracy": 0.9}]
    (run / "history.json").write_text('[{"epoch": 1, "loss": NaN}]')
    assert RunFolder(run).history() == []


@pytest.mark.parametrize("change, words", [
    (lambda e: e.update(classes="ab"), "classes must be"),
    (lambda e: e.update(confusion_matrix=[[1, 2]]), "2 rows of 2 counts"),
    (lambda e: e["predictions"][1].update(pred=7), r"predictions\[1\].pred"),
    (lambda e: e["predictions"][0].update(probabilities=[0.5]), "2 numbers"),
    (lambda e: e["most_incorrect"][0].update(path=["/etc/passwd"]), "path must be a path"),
    (lambda e: e.update(per_class=[{"class": "a", "precision": "high"}]), "per_class must be"),
    (lambda e: e.update(calibration=[1]), "calibration must be an object"),
    (lambda e: e.update(calibration={"validation": [1]}), "calibration.validation must be"),
    (lambda e: e.update(calibration={"reliability_after": [{"count": "a"}]}), "bins of numbers"),
    (lambda e: e.update(calibration={"temperature": [2]}), "calibration.temperature"),
    (lambda e: e.update(unknown={"unknown_rate": "x"}), "unknown.unknown_rate must be"),
    (lambda e: e.update(unknown={"by_reason": 5}), "unknown.by_reason must be"),
    (lambda e: e.update(unknown={"nested": [[[[1]]]]}), "unknown must be"),
    (lambda e: e.update(pr_curves=[{"class": 1, "precision": "x"}]), "pr_curves must be"),
    (lambda e: e.update(accuracy=True), "accuracy must be a number"),
])
def test_evaluation_json_is_schema_checked(world, change, words):
    run, _, _ = world
    evaluation = _evaluation()
    RunFolder(run).write_evaluation(evaluation)
    assert RunFolder(run).read_evaluation()["accuracy"] == 0.5
    change(evaluation)
    runfolder.write_json(run / "evaluation.json", evaluation)
    with pytest.raises(RunError, match=words):
        RunFolder(run).read_evaluation()


def test_a_zip_bomb_in_evaluation_npz_is_refused_before_it_is_unpacked(world):
    run, _, _ = world
    RunFolder(run).write_evaluation(_evaluation(n=4), max_json_cells=1)   # probabilities in .npz
    assert len(RunFolder(run).read_evaluation()["predictions"][0]["probabilities"]) == 2
    with zipfile.ZipFile(run / "evaluation.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("probabilities.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False,
                                                     "shape": (4, 2 * 10 ** 8)})
            chunk = bytes(1 << 20)
            for _ in range(64):                        # 64 MB of zeros, ~64 KB compressed
                f.write(chunk)
    assert os.path.getsize(run / "evaluation.npz") < 1024 * 1024
    with pytest.raises(RunError, match="would unpack to"):
        RunFolder(run).read_evaluation()


@pytest.mark.parametrize("live, words", [
    ({"schema_version": 5}, "newer version"),
    ({"progress": {"done": "a", "total": 3}}, "progress must be"),
    ({"batch": {"epoch": -1}}, "batch.epoch must be a count"),
    ({"messages": ["x"] * 1000}, "messages must be"),
    ({"status": {"x": 1}}, "status must be text"),
    ({"host": "h" * 300}, "host must be text"),
])
def test_live_json_is_checked_and_a_refusal_says_why(world, live, words):
    run, _, _ = world
    runfolder.write_json(run / "live.json", {"schema_version": 1, **live})
    data, problem = read_live_checked(run)
    assert data is None and words in problem and "live.json" in problem
    assert read_live_checked(run / "nowhere") == (None, None)


def test_files_that_change_while_they_are_read_never_crash_a_reader(world):
    """A writer rewrites live.json, history.json and run.json as fast as it can, with
    valid, truncated, huge and hostile contents, while readers read them: every read gives
    checked data or a clear refusal, never another exception."""
    run, outside, before = world
    contents = [json.dumps(GOOD_RUN), '{"schema_version": 1, "sta', deep_json(50_000),
                json.dumps({**GOOD_RUN, "epochs_done": None}), "[]" + " " * (3 << 20),
                json.dumps({"schema_version": 1, "status": "ok", "batch": {"epoch": 1}})]
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            text = contents[i % len(contents)]
            for name in ("run.json", "live.json", "history.json"):
                if i % 2:   # in place, so a reader can see it half-written
                    with open(run / name, "w") as f:
                        f.write(text)
                else:
                    runfolder.write_json(run / name, json.loads(text)) if text.startswith(
                        ("{", "[")) and len(text) < 1 << 20 and "[[[" not in text[:5] else None
            i += 1

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    outcomes = set()
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                RunFolder(run).load()
                outcomes.add("loaded")
            except RunError:
                outcomes.add("refused")
            data, problem = read_live_checked(run)
            assert data is None or isinstance(data, dict)
            assert isinstance(RunFolder(run).history(), list)
    finally:
        stop.set()
        thread.join(10)
    assert outcomes == {"loaded", "refused"}
    assert tree_hash(outside) == before


def test_writes_into_a_run_folder_never_follow_a_planted_link(world):
    run, outside, before = world
    for name in ("run.json.tmp", "stop_requested.tmp", "model_final.partial.keras",
                 "evaluation.npz.tmp.npz"):
        os.symlink(outside / "victim.txt", run / name)
    rename_run(run, "mine")                        # run.json rewritten
    request_stop(run)                              # stop_requested written
    RunFolder(run).write_evaluation(_evaluation(n=4), max_json_cells=1)
    writer = RunWriter(run, dict(GOOD_RUN))
    (run / "model_best.keras").write_bytes(b"weights")
    writer.copy_model("model_best.keras", "model_final.keras")
    assert (run / "model_final.keras").read_bytes() == b"weights"
    assert RunFolder(run).read_info()["display_name"] == "mine"
    assert tree_hash(outside) == before


def test_nothing_read_from_a_run_folder_becomes_a_write_target_outside_it(world):
    """Every path a run folder names (its dataset, an export, an npz) points at the
    sentinel; listing, reading and evaluating-file reads leave it untouched."""
    run, outside, before = world
    runfolder.write_json(run / "dataset.json", {"spec": {"path": str(outside)},
                                               "num_samples": 3, "overlay": {"relabelled": 2}})
    evaluation = _evaluation()
    evaluation["probabilities_file"] = str(outside / "victim.txt")
    for p in evaluation["predictions"]:
        p["path"] = str(outside / "victim.txt")
    runfolder.write_json(run / "evaluation.json", evaluation)
    runfolder.write_json(run / "run.json", {**GOOD_RUN, "checkpoint": {"path": str(outside)},
                                            "exports": [str(outside)]})
    rows = list_runs_labelled(run.parent)
    assert rows[0]["dataset"] == "outside" and rows[0]["status"] == "complete"
    with pytest.raises(RunError):   # the .npz it names is not the run's own
        RunFolder(run).read_evaluation()
    RunFolder(run).update_info(test_accuracy=0.5)
    assert tree_hash(outside) == before


def test_safefiles_limits(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"a": [1, 2]}')
    assert safefiles.read_json(path, 100) == {"a": [1, 2]}
    with pytest.raises(safefiles.UntrustedFileError, match="may be at most"):
        safefiles.read_json(path, 5)
    with pytest.raises(safefiles.UntrustedFileError) as info:
        safefiles.read_json(tmp_path / "missing.json", 5)
    assert info.value.missing
    with pytest.raises(ValueError):
        safefiles.write_json(path, {"x": float("nan")})
    assert safefiles.read_json(path, 100) == {"a": [1, 2]}   # a refused write changes nothing
    assert [n for n in os.listdir(tmp_path)] == ["a.json"]
    assert safefiles.lexically_inside("a/b/../c.png") and not safefiles.lexically_inside("a/../../b")
    assert not safefiles.lexically_inside("/etc/passwd") and not safefiles.lexically_inside("")
    assert checks.is_number(1.5) and not checks.is_number(float("inf")) and not checks.is_number(True)


def test_hostile_trust_files_are_ignored_with_a_warning(world, caplog):
    """calibration.json / unknown.json / unknown_reference.npz of the wrong types or a zip
    bomb: the run is used without them (a warning says why), never a crash."""
    from training.trust.rule import Trust

    run, outside, before = world
    runfolder.write_json(run / "unknown.json", {"coverage": 0.9, "confidence_threshold": "low",
                                                "risk_coverage": {"coverage": [0.5]}})
    assert Trust.load(run).rule is None and "confidence_threshold must be a number" in caplog.text
    runfolder.write_json(run / "unknown.json", {"coverage": 0.9, "k": [3]})
    assert Trust.load(run).rule is None and "k must be a count" in caplog.text
    runfolder.write_json(run / "unknown.json", {"coverage": 0.9})
    with zipfile.ZipFile(run / "unknown_reference.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("features.npy", "w", force_zip64=True) as f:
            for _ in range(128):   # declares 128 MB of zeros in ~130 KB of zip
                f.write(bytes(1 << 20))
    trust = Trust.load(run)
    assert trust.reference is None and "would unpack to" in caplog.text
    assert tree_hash(outside) == before


def test_image_paths_a_run_folder_names_never_block_or_fill_memory(tmp_path):
    """evaluation.json names the images the galleries show: a FIFO, a device and a huge
    file are refused with a reason, at once."""
    from training.data.decode import DecodeError, decode_to_fit

    os.mkfifo(tmp_path / "pipe.png")
    with open(tmp_path / "huge.png", "wb") as f:
        f.truncate(400 * 1024 * 1024)   # sparse
    t0 = time.monotonic()
    for path, words in ((tmp_path / "pipe.png", "not a regular file"),
                        ("/dev/zero", "not a regular file"), (tmp_path / "huge.png", "400 MB")):
        with pytest.raises(DecodeError, match=words):
            decode_to_fit(str(path), 64)
    assert time.monotonic() - t0 < 5


def test_a_damaged_checkpoint_cannot_be_resumed_and_a_linked_run_is_not_deleted(world, tmp_path):
    from training.runs.manage import delete_run

    run, outside, before = world
    (run / "model_last.keras").write_bytes(b"x")
    for checkpoint, words in (({"epoch": "3"}, "epoch must be a count"),
                              ({"epoch": 1, "best_loss": [1]}, "best_loss must be a number"),
                              ({"epoch": 1, "phase": {"a": 1}}, "phase must be a name")):
        runfolder.write_json(run / "run.json", {**GOOD_RUN, "status": "stopped",
                                                "checkpoint": checkpoint})
        ok, reason = RunFolder(run).can_resume()
        assert not ok and words in reason and "run.json" in reason
    (outside / "victim_run").mkdir()
    runfolder.write_json(outside / "victim_run" / "run.json", GOOD_RUN)
    before = tree_hash(outside)
    os.symlink(outside / "victim_run", run.parent / "link")
    with pytest.raises(RunError, match="is a link to"):
        delete_run(run.parent / "link")
    assert tree_hash(outside) == before


def test_evaluation_json_is_written_compact_and_reads_back_the_same(world):
    # Indented JSON is encoded in pure Python (3.5x slower for 10,000 test images): the
    # evaluation, which only programs read, is one compact line.
    run, _, _ = world
    evaluation = _evaluation(n=50)
    RunFolder(run).write_evaluation(evaluation)
    text = (run / "evaluation.json").read_text(encoding="utf-8")
    assert "\n" not in text.strip()
    back = RunFolder(run).read_evaluation()
    assert back["predictions"] == evaluation["predictions"]
    assert back["confusion_matrix"] == evaluation["confusion_matrix"]
