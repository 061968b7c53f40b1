"""Downloading ImageNet weights, end to end against a local HTTP server on 127.0.0.1:
progress, cancel, checksum refusal, offline message; nothing touches the real network."""
import dataclasses
import os
import socket

import pytest

from tests.weights_server import served, write_weights_like
from training.models import weights_download as wd


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    home = tmp_path / "keras"
    monkeypatch.setenv("KERAS_HOME", str(home))
    return home


def _file(keras_home, base, backbone="efficientnet_b0", file_hash="keep"):
    wf = wd.weights_file(backbone, base_url=base)
    return wf if file_hash == "keep" else dataclasses.replace(wf, file_hash=file_hash)


def test_download_reports_progress_checks_the_hash_and_lands_in_the_keras_cache(tmp_path, keras_home):
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    md5 = write_weights_like(served_dir / "efficientnetb0_notop.h5")
    seen = []
    with served(served_dir) as base:
        wf = _file(keras_home, base, file_hash=md5)
        path = wd.download(wf, progress=lambda done, total: seen.append((done, total)))
    assert path == str(keras_home / "models" / "efficientnetb0_notop.h5")
    assert os.path.getsize(path) == seen[-1][0] == seen[-1][1]
    assert len(seen) > 2 and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))
    assert wd.file_digest(path, "md5") == md5
    assert not os.path.exists(path + ".part")


def test_cancel_and_bad_checksum_remove_the_partial_file(tmp_path, keras_home):
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    write_weights_like(served_dir / "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    with served(served_dir) as base:
        wf = _file(keras_home, base, backbone="resnet50")  # Keras' real hash: won't match
        part = wf.dest + ".part"
        calls = []

        def stop():
            calls.append(1)
            return len(calls) > 2  # after two chunks were written

        with pytest.raises(wd.DownloadCancelled, match="cancelled"):
            wd.download(wf, should_stop=stop)
        assert not os.path.exists(part) and not os.path.exists(wf.dest)

        with pytest.raises(wd.DownloadError, match="checksum") as info:
            wd.download(wf)
        assert wf.file_hash in str(info.value) and not info.value.offline
        assert not os.path.exists(part) and not os.path.exists(wf.dest)


def test_unhashed_file_must_be_hdf5_and_missing_file_is_an_http_error(tmp_path, keras_home):
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    wf = wd.weights_file("mobilenet_v2", (96, 96), 1.0, base_url="http://x")
    assert wf.file_hash is None  # Keras publishes no hash for MobileNetV2
    (served_dir / wf.file_name).write_bytes(b"<html>not weights</html>" * 100)
    with served(served_dir) as base:
        wf = wd.weights_file("mobilenet_v2", (96, 96), 1.0, base_url=base)
        with pytest.raises(wd.DownloadError, match="not an HDF5"):
            wd.download(wf)
        assert not os.path.exists(wf.dest + ".part")
        missing = dataclasses.replace(wf, url=base + "/nothing.h5")
        with pytest.raises(wd.DownloadError, match="HTTP 404"):
            wd.download(missing)


def test_unhashed_file_is_checked_for_completeness_and_says_it_is_not_checksum_verified(
        tmp_path, keras_home):
    served_dir = tmp_path / "srv"
    served_dir.mkdir()
    mn = wd.weights_file("mobilenet_v2", (96, 96), 1.0, base_url="http://x")
    eff = wd.weights_file("efficientnet_b0", base_url="http://x")
    assert not mn.verified and eff.verified
    assert mn.check_note.startswith("not checksum-verified") and "MobileNetV2" in mn.check_note
    assert eff.check_note.startswith("checksum-verified") and "md5" in eff.check_note
    assert mn.to_dict()["verified"] is False and eff.to_dict()["check_note"] == eff.check_note
    # A truncated HDF5 file: right signature, and the server sends all of its (short)
    # bytes, so only reading it shows that it is incomplete.
    path = served_dir / mn.file_name
    write_weights_like(path, size=200_000)
    path.write_bytes(path.read_bytes()[:150_000])
    with served(served_dir) as base:
        wf = wd.weights_file("mobilenet_v2", (96, 96), 1.0, base_url=base)
        with pytest.raises(wd.DownloadError, match="incomplete or damaged") as info:
            wd.download(wf)
        assert "no checksum" in str(info.value)
        assert not os.path.exists(wf.dest + ".part") and not os.path.exists(wf.dest)
        write_weights_like(path, size=200_000)   # the whole file passes
        assert wd.download(wf) == wf.dest


def test_unreachable_server_gives_an_offline_message(keras_home):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    wf = wd.weights_file("efficientnet_b0", base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(wd.DownloadError, match="offline") as info:
        wd.download(wf, timeout=5)
    assert info.value.offline and wf.dest in str(info.value)
    assert not os.path.exists(wf.dest + ".part")


def test_hashes_and_addresses_are_the_ones_keras_uses():
    from keras.src.applications import efficientnet, mobilenet_v2, resnet

    assert wd.KERAS_NOTOP_HASHES["efficientnet_b0"] == efficientnet.WEIGHTS_HASHES["b0"][1]
    assert wd.KERAS_NOTOP_HASHES["resnet50"] == resnet.WEIGHTS_HASHES["resnet50"][1]
    os.environ.pop(wd.BASE_URL_ENV, None)
    assert wd.weights_file("resnet50").url.startswith(resnet.BASE_WEIGHTS_PATH)
    assert wd.weights_file("efficientnet_b0").url == (efficientnet.BASE_WEIGHTS_PATH
                                                      + "efficientnetb0_notop.h5")
    mn = wd.weights_file("mobilenet_v2", (96, 96), 0.35)
    assert mn.url == mobilenet_v2.BASE_WEIGHT_PATH + mn.file_name
    assert "storage.googleapis.com" in mn.describe()
