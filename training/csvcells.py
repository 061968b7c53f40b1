"""CSV cells a spreadsheet can open safely: the one rule for every CSV the app writes
(prediction exports, corrected labels)."""
from __future__ import annotations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value) -> str:
    """Prefix a quote to text a spreadsheet would run as a formula (CSV injection)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text
