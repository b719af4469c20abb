"""Masking personal data: phone and ID numbers in free text, names, addresses.

The rules live in SQL functions made by migration e8f9a0b1c2d3 (lists and Open311 mask in the
query that reads the rows, so no text is masked twice or in two ways); these are their names.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

MASK_TEXT = "gridwatch_mask_text"  # 13800138000 → 138****8000; an 18-digit ID → 650202********123X
MASK_NAME = "gridwatch_mask_name"  # 王小明 → 王**
MASK_ADDRESS = "gridwatch_mask_address"  # 西宁路12号3单元401 → 西宁路***


def masked(session: Session, function: str, value: str | None) -> str | None:
    """``value`` through one of the masking functions (for the odd single value in Python)."""
    if function not in (MASK_TEXT, MASK_NAME, MASK_ADDRESS):
        raise ValueError(f"{function} is not a masking function")
    return session.scalar(text(f"SELECT {function}(:v)"), {"v": value})
