"""How many CPU threads a fit uses.

On small tabular networks a step is a few tiny matrix products; splitting
them across threads costs more in synchronisation than it saves, and when the
cores are shared with other processes OpenMP's spinning threads can make a
fit many times slower (docs/engine.md, "Threads"). So work below
``SMALL_STEP_FLOPS`` per step runs on one thread; larger work keeps torch's
setting, which is restored when the work ends.
"""

from __future__ import annotations

from contextlib import contextmanager

import torch

SMALL_STEP_FLOPS = 5e7


def step_flops(units, batch_rows: int, k: int = 1) -> float:
    """Approximate FLOPs of one forward + backward step of ``k`` networks."""
    macs = sum(a * b for a, b in zip(units[:-1], units[1:]))
    return 6.0 * k * batch_rows * macs


@contextmanager
def cpu_threads(device: torch.device, flops: float):
    """Use one intra-op thread for small CPU work, then restore torch's setting.

    With torch's OpenMP backend (its CPU builds) the setting belongs to the
    calling thread (OpenMP's per-thread ``nthreads`` variable), so a fit in one
    thread neither sees nor changes another thread's setting, and saving and
    restoring around the work is exact (``tests/training/test_threads.py``).
    """
    if device.type != "cpu" or flops >= SMALL_STEP_FLOPS:
        yield
        return
    before = torch.get_num_threads()
    if before == 1:  # nothing to change (setting it costs more than a small predict's sums)
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
