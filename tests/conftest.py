"""Shared pytest configuration.

``--update-golden`` (or the environment variable ``SPECC_UPDATE_GOLDEN=1``)
makes ``tests/test_golden.py`` rewrite the expectation markers of the golden
cases from what the checker reports now, instead of comparing against them.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# Hypothesis's per-example deadline measures the machine's load, not the code:
# under a busy CI host one example of a 15 ms test took 251 ms and failed.
# Speed is measured by bench/, so property tests run without a deadline.
settings.register_profile("specc", deadline=None)
settings.load_profile("specc")

UPDATE_GOLDEN_ENV = "SPECC_UPDATE_GOLDEN"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the `#^` diagnostic markers of tests/golden from the checker's "
        f"current output (same as {UPDATE_GOLDEN_ENV}=1)",
    )


def update_golden_requested(config: pytest.Config) -> bool:
    if config.getoption("--update-golden"):
        return True
    return os.environ.get(UPDATE_GOLDEN_ENV, "").strip() not in ("", "0", "false", "no")


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """Whether golden expectations are to be rewritten rather than checked."""
    return update_golden_requested(request.config)
