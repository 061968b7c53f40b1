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


def test_nvidia_driver_reads_the_kernel_modules_version_line(tmp_path):
    from training.fit.device import nvidia_driver

    proc = tmp_path / "version"
    proc.write_text("NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n"
                    "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n")
    assert nvidia_driver(str(proc)) == "NVIDIA driver 550.54.14"


def test_describe_devices_says_why_a_present_driver_is_not_used():
    info = describe_devices()
    assert "driver" in info and "gpu_missing" in info
    if info["gpus"] or not info["driver"]:
        assert info["gpu_missing"] is None   # nothing is missing on this machine


def test_explain_missing_gpu_names_what_to_install():
    from training.fit.device import GPU_INSTALL_HINT, explain_missing_gpu

    cuda = {"is_cuda_build": True, "cuda_version": "12.5.1", "cudnn_version": "9"}
    drv = "NVIDIA driver 550.54.14"
    assert explain_missing_gpu(None, [], cuda) is None                   # no driver: nothing to say
    assert explain_missing_gpu(drv, ["NVIDIA H100"], cuda) is None       # TensorFlow uses it
    cpu_build = explain_missing_gpu(drv, [], {"is_cuda_build": False}, platform="linux")
    assert "built without CUDA" in cpu_build and GPU_INSTALL_HINT in cpu_build and drv in cpu_build
    no_libs = explain_missing_gpu(drv, [], cuda, platform="linux", cuda_libs=False)
    assert "CUDA 12.5.1" in no_libs and "cuDNN 9" in no_libs and "not installed" in no_libs
    other = explain_missing_gpu(drv, [], cuda, platform="linux", cuda_libs=True)
    assert "could not use it" in other and "log" in other
    assert "Linux only" in explain_missing_gpu(drv, [], cuda, platform="win32")
    assert "macOS" in explain_missing_gpu(drv, [], cuda, platform="darwin")
