"""Run a test helper that needs TensorFlow (training a tiny run, evaluating it) in a child
process, so the GUI tests' own process, like the app's, never imports TensorFlow."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def call_in_child(target: str, *args, timeout: float = 900):
    """``module:function`` called with JSON ``args`` in ``python -c``; returns its JSON result.

    The child inherits the environment (the session's runs, cache and log folders)."""
    module, func = target.split(":")
    code = ("import json, sys\n"
            f"from {module} import {func} as f\n"
            "out = f(*json.loads(sys.argv[1]))\n"
            "sys.stdout.write('\\n@@RESULT@@' + json.dumps(out))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(list(args))], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or "@@RESULT@@" not in proc.stdout:
        raise RuntimeError(f"{target} failed in a child process ({proc.returncode}):\n"
                           f"{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.rsplit("@@RESULT@@", 1)[1])
