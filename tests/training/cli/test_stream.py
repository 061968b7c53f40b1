"""``python -m training train --events``: the event stream a supervisor reads (real
processes): only JSON on stdout whatever libraries print, a spare process that waits
for its job, a stop request addressed to the process that survives its start-up, and
a run that stops when its supervisor goes away."""
import json
import subprocess
import sys
import time

import pytest

from tests.imagegen import make_class_folder
from tests.training.fit.distutil import ROOT, cli_env

# The real CLI, with a library that prints to stdout both through Python and straight
# to file descriptor 1 (as TensorFlow's C++ does) on every status line.
NOISY = r"""
import os, sys
from training.cli import progress
status = progress.TerminalEvents.on_status
def noisy(self, message):
    os.write(1, b"junk written to fd 1\n")
    print("junk printed")
    status(self, message)
progress.TerminalEvents.on_status = noisy
from training.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _events(lines):
    out = []
    for line in lines:
        msg = json.loads(line)   # every stdout line is an event: nothing else got through
        assert isinstance(msg, dict) and "type" in msg
        out.append(msg)
    return out


def test_spare_process_waits_for_its_job_and_an_early_stop_is_kept(tmp_path):
    from training.runs.follow import request_stop

    data = make_class_folder(tmp_path / "data", per_class=8, size=8)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", NOISY, "train", "--events", "--wait-for-job"],
                            cwd=ROOT, env=cli_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        first = [json.loads(proc.stdout.readline()) for _ in range(2)]
        assert [m["type"] for m in first] == ["hello", "ready"] and first[0]["pid"] == proc.pid
        assert first[0]["stream"] == 1
        # Stop pressed while the process starts: addressed to it, the request outlives the
        # start-up that clears stale ones, and the run stops before its first epoch.
        request_stop(run_dir, who="test", pid=proc.pid)
        job = {"argv": [str(data), "--model", "mlp", "--image-size", "8", "--epochs", "50",
                        "--out", str(run_dir), "--events"], "env": {"WORKBENCH_TEST_ONLY": "1"}}
        proc.stdin.write((json.dumps(job) + "\n").encode())
        proc.stdin.flush()
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = first + _events(out.decode().splitlines())
    assert b"junk printed" in err and b"junk written to fd 1" in err   # moved to stderr
    kinds = [m["type"] for m in events]
    assert kinds[:2] == ["hello", "ready"] and kinds[-1] == "end" and "status" in kinds
    device = next(m for m in events if m["type"] == "device")
    assert device["name"] == "CPU" and device["mixed_precision"] is False   # auto: off on a CPU
    end = events[-1]
    assert end["code"] == 0 and end["result"]["status"] == "stopped"
    assert end["result"]["epochs_done"] == 0 and "epoch" not in kinds
    assert proc.returncode == 0


def test_the_run_stops_when_its_supervisor_goes_away(tmp_path):
    from training.runs.runfolder import RunFolder

    data = make_class_folder(tmp_path / "data", per_class=8, size=8)
    run_dir = tmp_path / "run"
    temp = tmp_path / "temp"   # the process's temporary folder: what it leaves there is seen
    temp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "training", "train", str(data), "--model", "mlp",
                             "--image-size", "8", "--epochs", "300", "--batch-size", "2",
                             "--no-early-stopping", "--events", "--out", str(run_dir)],
                            cwd=ROOT, env=cli_env({"TMPDIR": str(temp)}), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        events = []
        for line in proc.stdout:
            events.append(json.loads(line))
            if events[-1]["type"] == "epoch":
                break
        assert events[-1]["type"] == "epoch", events
        gone = time.monotonic()
        proc.stdin.close()   # the supervisor is gone
        rest = proc.stdout.read()
        proc.wait(timeout=30)
        seconds = time.monotonic() - gone
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    end = _events(rest.decode().splitlines())[-1]
    assert end["type"] == "end" and end["result"]["status"] == "stopped"
    assert RunFolder(run_dir).load()["status"] == "stopped"   # saved, resumable
    assert seconds < 5.0, f"the run went on {seconds:.1f} s after its supervisor left"
    # Its quick exit skips atexit, where AutoGraph deletes the sources it wrote for the
    # traced functions: every training used to leave them in the user's temp folder.
    assert sorted(p.name for p in temp.iterdir()) == []


def test_config_file_and_mixed_precision_options(tmp_path):
    from training.cli.args import InputError
    from training.cli.main import build_parser
    from training.cli.train import train_config
    from training.recipe.config import TrainConfig

    path = tmp_path / "config.json"
    path.write_text(json.dumps(TrainConfig(epochs=3, batch_size=5, mixed_precision=True).to_dict()))
    parser = build_parser()
    config = train_config(parser.parse_args(["train", "d", "--config", str(path), "--epochs", "9"]))
    assert (config.epochs, config.batch_size, config.mixed_precision) == (3, 5, True)
    for flag, value in (([], "auto"), (["--mixed-precision"], True),
                        (["--no-mixed-precision"], False)):
        args = parser.parse_args(["train", *flag, "d", "--epochs", "2"])
        assert args.data == "d"
        assert train_config(args).mixed_precision == value
    path.write_text('{"epochs": "many"}')
    with pytest.raises(InputError, match="config.json"):
        train_config(parser.parse_args(["train", "d", "--config", str(path)]))
