"""The CLI's model choice: ``--model auto`` (the default) and ``--download-weights``.

Kept out of ``training/cli/main.py`` so the command table stays short. The network is used
only with ``--download-weights``; without it a missing ImageNet file is an error that
names the file, as before.
"""
from __future__ import annotations

from training.recipe.auto import TRANSFER_BACKBONE, TRANSFER_SIZE, auto_choice


def auto_spec(index, events, download: bool = False):
    """The Auto choice for ``index``, its reasons printed as status lines.

    With ``download`` True and few colour photos, the MobileNetV2 ImageNet weights are
    downloaded first so that Auto can pick transfer learning.
    """
    choice = auto_choice(index)
    if download and choice.template == "cnn" and any("Download ImageNet" in r for r in choice.reasons):
        from training.models.weights_download import weights_file

        fetch(weights_file(TRANSFER_BACKBONE, TRANSFER_SIZE), events)
        choice = auto_choice(index)
    events.on_status(f"Auto model: {choice.template} at {choice.spec.input_size[0]}x"
                     f"{choice.spec.input_size[1]} {choice.spec.color_mode}")
    for reason in choice.reasons:
        events.on_status(f"  {reason}")
    return choice.spec


def ensure_weights(spec, events) -> None:
    """Downloads the spec's ImageNet backbone weights when they are not cached yet."""
    bb = spec.backbone
    if bb is None or bb.weights != "imagenet":
        events.on_status("--download-weights: this model has no ImageNet backbone; nothing "
                         "to download")
        return
    from training.models.weights_download import weights_file

    wf = weights_file(bb.name, spec.input_size, bb.alpha)
    if wf.present:
        events.on_status(f"ImageNet weights already in the Keras cache: {wf.dest}")
        return
    fetch(wf, events)


def fetch(wf, events) -> str:
    """:func:`training.models.weights_download.download` with progress on the terminal; a
    ``DownloadError`` becomes bad input (exit 2) with its message."""
    from training.cli.args import InputError
    from training.models.weights_download import DownloadError, download

    events.on_status(f"Downloading {wf.describe()} to {wf.dest} ({wf.check_note})")
    what = f"downloading {wf.file_name}"
    try:
        path = download(wf, progress=lambda done, total: events.on_progress(done, total or done, what),
                        should_stop=events.should_stop)
    except DownloadError as exc:
        raise InputError(str(exc)) from None
    events.on_status(f"Saved {path} ({wf.check_note.split(':')[0]})")
    return path
