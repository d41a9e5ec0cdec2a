"""Shared test fixtures.

Real data sets live in ``../shared/datasets`` beside the repository (never
copied in). Tests that need them use the ``shared_datasets`` fixture, which
skips cleanly when the folder is absent. ``LTR_SHARED_DATASETS`` overrides the
location.
"""
import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("LTR_SHARED_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))


@pytest.fixture(scope="session")
def shared_datasets():
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"shared data sets not found at {SHARED_DATASETS}")
    return SHARED_DATASETS
