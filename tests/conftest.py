"""Shared fixtures."""

import pytest


@pytest.fixture
def no_sync_in_epochs(monkeypatch):
    """Make any CUDA host synchronisation inside a training epoch an error
    (the losses are read once per epoch, after ``_run_epoch``)."""
    import torch

    from skdl.training import loop

    original = loop._run_epoch

    def strict(*args, **kw):
        torch.cuda.set_sync_debug_mode("error")
        try:
            return original(*args, **kw)
        finally:
            torch.cuda.set_sync_debug_mode("default")

    monkeypatch.setattr(loop, "_run_epoch", strict)
