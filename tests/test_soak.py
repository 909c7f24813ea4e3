"""Soak: many fits and predicts in one process do not grow its memory.

A leak per fit (a tensor kept alive by a closure, a growing cache, a
reference cycle holding device data) is invisible in one fit and fatal in a
search of thousands. 60 small fits + predicts (+ a save/load and a pickle
round-trip) after a warm-up of 10: the resident set size must stay flat.
"""

import gc
import os
import pickle
import resource
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skdl import MLPClassifier, MLPRegressor

N_WARMUP, N_FITS = 10, 60
# The allocator keeps freed pages and torch/numpy grow arenas in steps: a few
# MiB of noise over 60 fits is normal, a leak of the fit's data (~0.5 MiB per
# fit here) is not.
TOLERANCE_MIB = 16.0


def rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc), else the peak (getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def _one_round(i, X, y_clf, y_reg, tmp_path):
    if i % 2:
        est = MLPClassifier(
            (16,), max_iter=5, n_init=2, random_state=i, device="cpu", early_stopping=i % 4 == 1
        )
        est.fit(X, y_clf)
        est.predict_proba(X)
    else:
        est = MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=5, random_state=i, device="cpu")
        est.fit(X, y_reg)
    est.predict(X)
    est = pickle.loads(pickle.dumps(est))
    try:
        from skdl.persistence import load, save

        save(est, tmp_path / "m.skdl")
        load(tmp_path / "m.skdl").predict(X)
    except ImportError:  # safetensors not installed: pickle only
        pass


@pytest.mark.slow
def test_memory_does_not_grow_over_fits(tmp_path):
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs /proc/self/statm to read the current RSS")
    rng = np.random.RandomState(0)
    X = rng.rand(300, 20)
    y_clf = rng.randint(0, 3, 300)
    y_reg = rng.rand(300)
    rss = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for i in range(N_WARMUP + N_FITS):
            _one_round(i, X, y_clf, y_reg, tmp_path)
            gc.collect()
            rss.append(rss_mib())
    after = np.array(rss[N_WARMUP:])
    growth = after[-10:].mean() - after[:10].mean()
    slope = np.polyfit(np.arange(len(after)), after, 1)[0]
    print(
        f"\nRSS after warm-up {after[0]:.1f} MiB, peak {max(rss):.1f} MiB, "
        f"growth over {N_FITS} fits {growth:+.2f} MiB, trend {100 * slope:+.2f} MiB/100 fits"
    )
    assert growth < TOLERANCE_MIB, f"RSS grew by {growth:.1f} MiB over {N_FITS} fits: {rss}"
    assert 100 * slope < TOLERANCE_MIB, f"RSS trend {100 * slope:.1f} MiB per 100 fits: {rss}"
