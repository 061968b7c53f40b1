"""``python -m training.service`` as a real child process: the handshake, requests,
streamed results, cancel, errors, warm models, and a channel that library output can't
corrupt. The app's side (QProcess, crash recovery) is tested in tests/workbench."""
import os
import time

import numpy as np
import pytest

from tests.imagegen import make_class_folder
from tests.training.service.serviceproc import ServiceProc
from tests.training.trainutil import tiny_spec
from training.service import protocol as P

NOISY = "tests.training.service.noisy_handlers"


@pytest.fixture
def service(tmp_path):
    svc = ServiceProc(tmp_path / "service.log", "--handlers", NOISY)
    yield svc
    svc.close()


@pytest.fixture(scope="module")
def cnn_run(tmp_path_factory):
    from training.data import DatasetSpec
    from training.fit.train import train
    from training.recipe.config import TrainConfig

    root = tmp_path_factory.mktemp("svc_run")
    data = make_class_folder(root / "data", per_class=12)
    summary = train(DatasetSpec(str(data)), tiny_spec("cnn"), TrainConfig(epochs=1, batch_size=8),
                    None, run_dir=str(root / "run"))
    return summary.run_dir, data


@pytest.fixture(scope="module")
def warm_service(tmp_path_factory):
    svc = ServiceProc(tmp_path_factory.mktemp("svc") / "service.log")
    yield svc
    svc.close()


def test_hello_names_the_version_and_requests_and_costs_no_tensorflow(service):
    assert service.hello["protocol"] == P.PROTOCOL_VERSION and service.hello["pid"] == service.proc.pid
    assert {"predict", "evaluate", "export", "gradcam", "health", "summary", "unknown_check", "auto", "check_images",
            "aug_preview", "device", "ping"} <= set(service.hello["methods"])
    assert service.call("ping")["tensorflow_loaded"] is False


def test_library_output_on_stdout_never_reaches_the_channel(service):
    rid = service.request("noisy", lines=30)
    # A line that is a well-formed frame for this very request, printed by "a library":
    # were fd 1 still the channel, the app would take it for the answer.
    fake = P.encode({"type": "result", "id": rid + 1, "data": "forged"}).decode()
    service.send({"type": P.REQUEST, "id": rid + 1, "method": "noisy", "params": {"lines": 1}})
    reply = service.final(rid)
    assert reply["type"] == P.RESULT and reply["data"] == {"lines": 30, "after": "the channel is intact"}
    assert service.final(rid + 1)["data"]["lines"] == 1
    assert service.decoder.skipped == 0   # not one stray byte arrived on the pipe
    service.next_id = rid + 1
    assert service.call("ping")["pid"] == service.proc.pid
    log = service.log_path.read_text(errors="replace")
    assert "fd-1 junk 29" in log and "junk{" in log and "printf junk from C" in log
    assert fake not in log   # (the forged frame was never printed: only compared against)


def test_cancel_stops_a_running_request_and_the_next_one_runs(service):
    rid = service.request("sleepy", seconds=60)
    service.receive(lambda m: m.get("id") == rid and m["type"] == P.PROGRESS, timeout=30)
    t = time.monotonic()
    service.send({"type": P.CANCEL, "id": rid})
    assert service.final(rid, timeout=10)["type"] == P.STOPPED
    assert time.monotonic() - t < 5
    assert service.call("sleepy", seconds=0.05) == {"slept": 0.05}


def test_errors_say_bad_input_or_internal(service, tmp_path):
    missing = tmp_path / "no_such_run"
    reply = service.final(service.request("predict", run_dir=str(missing), paths=[str(tmp_path)]))
    assert reply["type"] == P.ERROR and reply["kind"] == P.BAD_INPUT
    assert str(tmp_path) in reply["message"]   # names what was wrong
    reply = service.final(service.request("ping", unexpected=1))
    assert reply["type"] == P.ERROR and reply["kind"] == P.INTERNAL
    assert "Traceback" in reply["details"] and "unexpected" in reply["message"]
    reply = service.final(service.request("no_such_request"))
    assert reply["kind"] == P.BAD_INPUT and "predict" in reply["message"]


def test_an_old_service_is_refused_with_a_clear_message(tmp_path):
    old = ServiceProc(tmp_path / "old.log", "--protocol-version", "0")
    try:
        assert old.hello["protocol"] == 0
        refusal = old.receive(lambda m: m["type"] == P.ERROR and m.get("id") is None, timeout=30)
        assert refusal["message"] == P.version_mismatch(P.PROTOCOL_VERSION, ours=0)
        reply = old.final(old.request("ping"))
        assert reply["type"] == P.ERROR and "protocol version" in reply["message"]
    finally:
        old.close()


def test_the_service_ends_when_the_app_closes_its_pipe(tmp_path):
    svc = ServiceProc(tmp_path / "s.log")
    svc.request("ping")
    t = time.monotonic()
    assert svc.close(timeout=15) == 0 and time.monotonic() - t < 15


def test_predict_streams_rows_with_thumbnails_and_keeps_the_model_warm(warm_service, cnn_run):
    run_dir, data = cnn_run
    files = sorted(str(p) for p in (data / "cat").iterdir())[:3]
    rid = warm_service.request("predict", run_dir=run_dir, paths=files, top_k=2)
    reply = warm_service.final(rid)
    assert reply["type"] == P.RESULT and reply["data"] == {"classified": 3}
    parts = [m["data"] for m in warm_service.messages_for(rid) if m["type"] == P.PARTIAL]
    assert parts[0] == {"classes": ["cat", "dog", "fox"]}
    rows = [r for p in parts[1:] for r in p["rows"]]
    assert [r["path"] for r in rows] == files
    assert all(len(r["top_k"]) == 2 and r["thumb"].dtype == np.uint8 and r["thumb"].ndim == 3
               and abs(sum(r["probabilities"]) - 1) < 1e-4 for r in rows)
    loads = warm_service.call("ping")["loads"]
    t = time.perf_counter()
    warm_service.call("predict", run_dir=run_dir, paths=files[:1])
    warm = time.perf_counter() - t
    assert warm_service.call("ping")["loads"] == loads   # the same model, not loaded again
    assert warm < 2.0
    # Rewriting the run's model (a resume) invalidates the warm copy.
    model = os.path.join(run_dir, "model_final.keras")
    st = os.stat(model)
    os.utime(model, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000_000))
    warm_service.call("predict", run_dir=run_dir, paths=files[:1])
    assert warm_service.call("ping")["loads"] == loads + 1


def test_gradcam_summary_and_unknown_check_answer_with_arrays(warm_service, cnn_run):
    run_dir, data = cnn_run
    img = sorted(str(p) for p in (data / "dog").iterdir())[0]
    cam = warm_service.call("gradcam", run_dir=run_dir, path=img)
    assert cam["heatmap"].shape == (16, 16) and cam["heatmap"].dtype == np.float32
    assert cam["colored"].shape == (16, 16, 3) and cam["method"] == "grad-cam"
    pixels = np.full((16, 16, 3), 200, np.uint8)
    cam2 = warm_service.call("gradcam", run_dir=run_dir, path="arrays.npz#3", image=pixels, class_index=1)
    assert cam2["class_index"] == 1 and cam2["path"] == "arrays.npz#3"
    out = warm_service.call("summary", spec=tiny_spec("cnn").to_dict(), num_classes=3)
    assert out["summary"]["total_params"] > 0 and out["backbone_layers"] is None
    bad = tiny_spec("cnn").to_dict()
    bad["layers"][0]["params"]["filters"] = -3
    broken = warm_service.call("summary", spec=bad, num_classes=3)["summary"]
    assert broken["total_params"] is None and (broken.get("error") or any(r.get("error") for r in broken["rows"]))
    check = warm_service.call("unknown_check", run_dir=run_dir, paths=[img, "x#1"], images=[None, pixels])
    assert check["rule"] is not None and set(check["items"]) == {img, "x#1"}
    assert isinstance(check["items"][img]["unknown"], bool)
