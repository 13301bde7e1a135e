"""Numbers as people write them, read one way everywhere: an import's cells, the API's query
parameters and a spreadsheet's cells.

Python's ``int()`` and ``float()`` also read ``"1_200_000"`` and full-width digits (``"５"``),
which no source means as a figure; these patterns take ASCII digits, a point and an exponent
only. ``nan`` and ``inf`` are read (:func:`written_number`) so that the caller refuses them as
not finite, with its own words.
"""

from __future__ import annotations

import re

INTEGER = re.compile(r"[+-]?\d+", re.ASCII)
DECIMAL = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", re.ASCII)
NOT_FINITE = ("nan", "inf", "infinity")

# The largest offset a listing of the register takes (the API's and the CLI's pages): far more
# than any register holds, and within a database's 64-bit integer.
MAX_OFFSET = 1_000_000_000


def written_number(text: str) -> bool:
    """Whether ``text`` is a number as written (:data:`DECIMAL`), or NaN or infinity."""
    return bool(DECIMAL.fullmatch(text)) or text.lower().lstrip("+-") in NOT_FINITE


def written_integer(text: str) -> bool:
    """Whether ``text`` is a whole number as written (:data:`INTEGER`)."""
    return bool(INTEGER.fullmatch(text))
