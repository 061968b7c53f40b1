"""A real ``active_round`` through the real compute service process."""
from tests.imagegen import make_class_folder
from tests.training.service.serviceproc import ServiceProc
from training.service import protocol as P


def test_active_round_streams_progress_and_returns_the_ranked_queue(tmp_path):
    root = make_class_folder(tmp_path / "data", per_class=16)
    paths = sorted(str(p) for p in root.rglob("*.png"))
    # The first 7 of each class are labelled; the rest is the unlabelled pool.
    labels = [p.split("/")[-2] if int(p[-7:-4]) < 7 else None for p in paths]
    svc = ServiceProc(tmp_path / "service.log")
    try:
        rid = svc.request("active_round", paths=paths, labels=labels, classes=["cat", "dog", "fox"],
                          input_size=[16, 16], color_mode="rgb", strategy="diverse", count=10)
        reply = svc.final(rid, timeout=300)
        assert reply["type"] == P.RESULT, reply
        data = reply["data"]
        seen = svc.messages_for(rid)
        whats = {m.get("what") for m in seen if m["type"] == P.PROGRESS}
        assert {"training the suggestion model", "ranking the unlabelled images"} <= whats
        pool = {p for p, c in zip(paths, labels) if c is None}
        assert len(data["items"]) == 10 and {i["path"] for i in data["items"]} <= pool
        assert {i["suggested"] for i in data["items"]} <= {"cat", "dog", "fox"}
        from training.active.queue import holdout_candidates   # the queue's random checks

        assert [i["held_back"] for i in data["items"]] == holdout_candidates(
            [i["path"] for i in data["items"]]).tolist()
        scores = [i["score"] for i in data["items"]]
        assert all(0 <= s <= 1 for s in scores)
        point = data["point"]
        assert point["labels"] == 21 and point["trained_on"] + point["held_back"] == 21
        assert data["pool"] == len(pool) and data["model"] == "small CNN"
        assert data["seconds"]["train"] > 0
        # Not ready: a class without enough labels is the person's input, said plainly.
        few = [c if c == "cat" else None for c in labels]
        err = svc.final(svc.request("active_round", paths=paths, labels=few,
                                    classes=["cat", "dog", "fox"], input_size=[16, 16]), timeout=120)
        assert err["type"] == P.ERROR and err["kind"] == "bad_input"
        assert "more images before the model can suggest" in err["message"]
    finally:
        svc.close()
