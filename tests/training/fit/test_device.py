"""Device detection: a name to show, the GPU list, memory growth set once."""
import subprocess
import sys
from pathlib import Path

from training.fit.device import describe_devices, has_gpu

ROOT = Path(__file__).resolve().parents[3]


def test_describe_devices_is_cached_plain_data():
    import tensorflow as tf

    info = describe_devices()
    assert info["tensorflow"] == tf.__version__
    assert isinstance(info["gpus"], list) and isinstance(info["name"], str) and info["name"]
    if tf.config.list_physical_devices("GPU"):
        assert info["name"] == info["gpus"][0] and has_gpu()
        assert info["memory_growth"] or info["warnings"]
    else:
        assert info["name"] == "CPU" and info["gpus"] == [] and not has_gpu()
    info["gpus"].append("mutated")
    assert "mutated" not in describe_devices()["gpus"]  # callers get a copy


def test_listing_runs_and_the_cli_parser_do_not_import_tensorflow():
    code = ("import sys; import training.runs.listing, training.recipe.config, training.cli.main; "
            "import training.inference.evaluate; "
            "from training.cli.main import build_parser; build_parser(); "
            "from training.runs.listing import list_runs; list_runs('.'); "
            "assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
