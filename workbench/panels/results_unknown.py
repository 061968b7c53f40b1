"""The Results galleries' "would this be answered unknown, and why" (``training.trust.unknown``).

``evaluation.json`` already gives each test prediction its ``unknown_reason`` (low
confidence, or unlike the training data), so the badge and the caption line show at
once. :class:`UnknownBadges` then runs the shown images through the run's rule in a
worker (``workbench.workers.unknown_check``) for the numbers behind each decision —
confidence, feature distance and thumbnail distance against their thresholds — which
the detail view's caption spells out; evaluations written before the rule existed get
their badges from that worker too.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QObject

from workbench.workers.job_runner import JobRunner
from workbench.compute.requests import UnknownCheckJob

log = logging.getLogger(__name__)

def reason_line(reason: str | None) -> str:
    """The caption line for a stored reason, before the worker's numbers arrive."""
    return f"Would be answered “unknown”: {reason}" if reason else ""


def _vs(value, limit, fmt: str, above_is_bad: bool = True) -> str:
    if value is None:
        return ""
    if limit is None:
        return format(value, fmt)
    bad = value > limit if above_is_bad else value < limit
    sign = (">" if above_is_bad else "<") if bad else ("≤" if above_is_bad else "≥")
    return f"{format(value, fmt)} {sign} {format(limit, fmt)}"


def explain(check: dict | None, rule: dict | None) -> str:
    """One or two lines saying whether the image would be answered and why, with numbers.

    Args:
        check: the worker's entry for the image (``unknown, reason, confidence,
            distance, appearance`` or ``error``).
        rule: the run's thresholds (``rule_fields``), or None.
    """
    if rule is None:
        return ""  # a run from before the rule: nothing to say about this one image
    if not check:
        return ""
    if check.get("error"):
        return f"Unknown-answer check not possible: {check['error']}"
    conf = _vs(check.get("confidence"), rule.get("confidence_threshold"), ".0%", above_is_bad=False)
    dist = _vs(check.get("distance"), rule.get("distance_threshold"), ".3f")
    look = _vs(check.get("appearance"), rule.get("appearance_threshold"), ".1f")
    # Short words: the detail column can be ~220 px wide at 1024x640.
    facts = " · ".join(x for x in (f"confidence {conf}" if conf else "",
                                   f"features {dist}" if dist else "",
                                   f"thumbnail {look}" if look else "") if x)
    head = (reason_line(check.get("reason")) if check.get("unknown")
            else "Would be answered (not unknown)")
    return f"{head}\n{facts}" if facts else head


def _without(caption: str, line: str) -> str:
    return caption[:-len(line)].rstrip("\n") if line and caption.endswith(line) else caption


class UnknownBadges(QObject):
    """Checks a gallery's images against the run's rule and marks them.

    Args:
        gallery: the ``ImageGallery`` whose items get ``unknown_reason`` (badge, caption).
        detail: the ``ImageDetail`` whose caption gets the explanation.
    """

    def __init__(self, gallery, detail, parent=None):
        super().__init__(parent)
        self.gallery, self.detail = gallery, detail
        self._runner = JobRunner(self)
        self.result: dict | None = None
        self._base: dict[str, str] = {}  # path -> the item's caption without the explanation

    def check(self, run_dir: str | None, items: list[dict], dataset=None) -> None:
        """Start checking ``items`` (the gallery's, just set) of ``run_dir``'s evaluation."""
        self._runner.cancel()
        self.result = None
        # Captions without the stored reason's line: the explanation replaces it.
        self._base = {i.get("path", ""): _without(i.get("caption", ""), reason_line(i.get("unknown_reason")))
                      for i in items}
        if not run_dir or not items:
            return
        # For the gallery's screen: a hidden Results panel's gallery asks the service for
        # nothing (a model load and 200 predictions) until it is shown.
        paths = list(self._base)
        self.gallery.when_shown("unknown_check", lambda: self._runner.start(
            UnknownCheckJob(run_dir, paths, dataset),
            finished=self._on_checked, failed=self._on_failed))

    def pending_work(self) -> bool:
        return self._runner.busy()

    def shutdown(self) -> None:
        self._runner.shutdown()

    def _on_checked(self, result: dict) -> None:
        self.result = result
        rule, updates = result.get("rule"), {}
        for path, base in self._base.items():
            check = (result.get("items") or {}).get(path)
            text = explain(check, rule)
            update = {"caption": f"{base}\n{text}" if text else base, "unknown_check": check}
            if check and "error" not in check:
                update["unknown_reason"] = check.get("reason") if check.get("unknown") else None
            updates[path] = update
            self.detail.update_caption(path, update["caption"])
        self.gallery.update_items(updates)

    def _on_failed(self, message: str) -> None:
        # Badges from evaluation.json stay; only the numbers are missing.
        log.warning("Unknown-answer check of the gallery failed: %s", message)
