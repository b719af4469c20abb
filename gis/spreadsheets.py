"""Exported cells that a spreadsheet must read as text: names come from planners' files and from
users, and a cell such as ``=HYPERLINK(...)`` or ``@SUM(...)`` would otherwise run as a formula."""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def looks_like_formula(value) -> bool:
    """Whether a spreadsheet would read this cell as a formula (or the start of one)."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def csv_cell(value):
    """A CSV cell: a formula-like text gets a leading apostrophe, which spreadsheets show as text."""
    return f"'{value}" if looks_like_formula(value) else value
