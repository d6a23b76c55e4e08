"""Shared fixtures for the unit tests."""
from pathlib import Path

import pytest

REALDATA = Path(__file__).parent / "realdata"


@pytest.fixture(scope="session")
def realdata():
    """Folder of the two small real frames (see tests/realdata/README.md)."""
    if not (REALDATA / "README.md").exists():
        pytest.skip(f"real frames not found in {REALDATA}")
    return REALDATA
