"""The status bar names the compute device the service found, and says what is missing
when an NVIDIA driver is present but TensorFlow can't use the GPU."""
from tests.workbench.panels import make_window


def test_the_status_bar_says_what_is_missing_for_the_gpu(qtbot, tmp_path, monkeypatch):
    from training.fit.device import explain_missing_gpu

    window = make_window(qtbot, tmp_path, monkeypatch)
    why = explain_missing_gpu("NVIDIA driver 550.54.14", [], {"is_cuda_build": True, "cuda_version": "12.5.1",
                                                               "cudnn_version": "9"}, platform="linux",
                              cuda_libs=False)
    window._on_device({"name": "CPU", "gpus": [], "gpu_missing": why})
    text = window.device_label.text()
    assert text.startswith("Device: CPU (NVIDIA driver 550.54.14 found") and "not installed" in text
    assert "training uses" not in text                # the label says what is missing …
    assert "pip install" in window.device_label.toolTip()   # … the tooltip also what to do
    assert window.state.device == "CPU"
    window._on_device({"name": "NVIDIA H100 80GB HBM3", "gpus": ["NVIDIA H100 80GB HBM3"], "gpu_missing": None})
    assert window.device_label.text() == "Device: NVIDIA H100 80GB HBM3"


def test_the_device_probe_asks_the_compute_service(qtbot, tmp_path, monkeypatch, compute_service):
    window = make_window(qtbot, tmp_path, monkeypatch)
    window.start_device_probe()
    qtbot.waitUntil(lambda: not window.device_probe_running(), timeout=120_000)
    assert window.device_label.text().startswith("Device: ")
    assert window.state.device
    assert compute_service.running()   # the probe ran in the service, not in this process
