"""``../shared`` (the domain notes, seeds and the official Open311 schemas) sits beside the clone, in
CI and on developers' machines. A test that needs it skips on a machine without it, and fails in CI
(``CI=true``), where a missing folder would otherwise hide every such test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_path(*parts: str) -> Path:
    """The path under ``../shared``; skips the test without it (fails it under ``CI=true``)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{path} is missing: CI runs with ../shared beside the clone")
        pytest.skip(f"{path} is missing")
    return path
