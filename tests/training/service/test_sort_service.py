"""The sort requests (``sort_plan``, ``sort_apply``, ``sort_undo``) on a real compute
service: plan with the warm model, copy, undo; bad input comes back as ``bad_input``."""
from tests.training.service.serviceproc import ServiceProc
from tests.training.sorting.sortutil import make_photos, tree
from training.service import protocol as P


def test_plan_copy_and_undo_through_the_service(tmp_path, mlp_run):
    src = make_photos(tmp_path / "photos")
    before = tree(src)
    dest = tmp_path / "sorted"
    svc = ServiceProc(tmp_path / "service.log")
    try:
        plan = svc.call("sort_plan", run_dir=mlp_run[0].run_dir, source=str(src), dest=str(dest),
                        coverage=None, timeout=240)
        assert sum(plan["counts"].values()) == len(plan["items"]) == 13
        assert [u["path"].rsplit("/", 1)[1] for u in plan["unreadable"]] == ["broken.jpg"]
        assert not dest.exists()
        done = svc.call("sort_apply", plan=plan, move=False, timeout=240)
        assert done["done"] == 13 and done["operation"] == "copy" and len(tree(dest)) == 13
        undone = svc.call("sort_undo", journal=done["journal"], timeout=240)
        assert undone["restored"] == 13 and not dest.exists() and tree(src) == before
        rid = svc.request("sort_plan", run_dir=mlp_run[0].run_dir, source=str(tmp_path / "nope"),
                          dest=str(dest))
        reply = svc.final(rid, timeout=240)
        assert reply["type"] == P.ERROR and reply["kind"] == "bad_input"
        assert "not found" in reply["message"]
    finally:
        svc.close()
