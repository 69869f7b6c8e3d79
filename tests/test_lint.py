"""Lint is part of the test suite, so the one test command runs everything CI runs."""

import subprocess
import sys

import pytest
from conftest import ROOT


def test_ruff_clean():
    if subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode:
        pytest.skip("ruff not installed (pip install -e '.[test]')")
    targets = [d for d in ("rehab", "tests", "bench") if (ROOT / d).is_dir()]
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *targets], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_clean_on_the_typed_core():
    """protocol/, engine/ and scoring/ are type-checked (the files list is in pyproject.toml)."""
    if subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True).returncode:
        pytest.skip("mypy not installed (pip install -e '.[test]')")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
