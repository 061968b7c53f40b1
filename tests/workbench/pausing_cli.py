"""``python -m tests.workbench.pausing_cli MODE PREFIX train …``: the real training CLI,
held at one moment of its run, so a test can act while the process is there.

Evaluation of a tiny model takes milliseconds, so "stop while it is evaluating" cannot be
hit by timing. Once the process has sent a status line starting with ``PREFIX`` on its
event stream (or, for ``PREFIX`` ``epoch:N``, epoch N), it waits there:

- ``until-stop``: until the run folder's stop request appears (at most 60 s), then goes
  on; the core's own stop check then ends the run, as for any Stop.
- ``stall``: for good, ignoring every stop request: a process a cooperative Stop cannot
  end (the case for Force stop), or one the window must not wait for when it closes.

Everything else is the real ``python -m training train`` (the GUI's supervisor cannot
tell the difference).
"""
from __future__ import annotations

import sys
import threading
import time


def main() -> int:
    mode, prefix, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    from training.cli import stream
    from training.cli.main import main as cli_main
    from training.runs.runfolder import RunFolder

    run_dir = next((argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--out", "--resume")), None)
    held = threading.Event()
    on_status = stream.EventStream.on_status

    def hold() -> None:
        held.set()
        if mode == "stall":
            threading.Event().wait()   # until killed
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not RunFolder(run_dir).stop_request.exists():
            time.sleep(0.02)

    def pausing(self, message):
        on_status(self, message)
        if str(message).startswith(prefix) and not held.is_set():
            hold()

    def pausing_epoch(self, info):
        on_epoch(self, info)
        if prefix == f"epoch:{info.get('epoch')}" and not held.is_set():
            hold()

    on_epoch = stream.EventStream.on_epoch
    stream.EventStream.on_status = pausing
    stream.EventStream.on_epoch = pausing_epoch
    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
