"""Evaluating a run stopped before its first validated epoch says so (issue 11.9)."""
import json
import shutil

from training.cli.main import main


def test_evaluate_a_run_stopped_before_its_first_epoch(mlp_run, tmp_path, capsys):
    summary, _data, _ = mlp_run
    run_dir = tmp_path / "early"
    shutil.copytree(summary.run_dir, run_dir)
    for model in run_dir.glob("model_*.keras"):
        model.unlink()
    info = json.loads((run_dir / "run.json").read_text())
    info.update(status="stopped", epochs_done=0, best_epoch=None, checkpoint=None)
    (run_dir / "run.json").write_text(json.dumps(info))
    assert main(["evaluate", str(run_dir), "--json"]) == 2
    error = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["error"]
    assert "stopped before its first validated epoch" in error
