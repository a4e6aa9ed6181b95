"""Model fixtures for tests/sources/test_models.py and tests/cli/test_layers.py: real small models
built with Keras (KERAS_BACKEND=torch) and PyTorch, saved in every format convcli reads."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: a test that takes more than 10 s (still run by default)")
