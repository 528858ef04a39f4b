"""Fixtures shared by the test modules."""

import os

import pytest
import torch

if os.environ.get("PYTEST_XDIST_WORKER"):  # `run.py test` runs two workers on two cores: one thread each
    torch.set_num_threads(1)


@pytest.fixture
def one_thread():
    """Tiny models train fastest on one thread (and do not fight other tests for the CPU)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
