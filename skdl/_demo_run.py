"""The timed side of ``skdl demo``: one fresh process per library, run as a script.

``python skdl/_demo_run.py LIBRARY DATASET SEED THREADS`` imports LIBRARY's
MLPClassifier ("skdl" or "scikit-learn"), loads DATASET's 75/25 stratified
split, standardizes it and prints one JSON line ``{"ready": true}``. Then each
line ``fit MAX_ITER VERBOSE`` on its standard input trains a new model and
prints one JSON line: test accuracy, fit-only seconds, epochs, device and the
thread counts the libraries ran with. ``skdl demo`` starts one such process
per library and interleaves their fits.

The process imports only what its LIBRARY needs (a scikit-learn process never
imports torch), and both libraries are held to THREADS threads: the
``*_NUM_THREADS`` variables (set by ``skdl demo``), ``torch.set_num_threads``
and threadpoolctl (OpenMP, and the BLAS scikit-learn's MLP multiplies with).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import warnings
from dataclasses import dataclass

LIBRARIES = ("skdl", "scikit-learn")


@dataclass
class Setup:
    library: str
    seed: int
    threads: int
    data: tuple  # X_train, X_test, y_train, y_test, standardized
    limiter: object  # threadpoolctl's limits, held for the process's life


def prepare(library: str, dataset: str, seed: int, threads: int) -> Setup:
    """Import ``library``, load and standardize the split, hold both libraries to ``threads``."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if library not in LIBRARIES:
        raise ValueError(f"library must be one of {LIBRARIES}, got {library!r}")
    if library == "skdl":
        import torch

        import skdl  # noqa: F401  (imported here, as a user's script would)

        torch.set_num_threads(threads)
    else:
        import sklearn.neural_network  # noqa: F401
    X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    data = (scaler.transform(X_tr), scaler.transform(X_te), y_tr, y_te)
    return Setup(library, seed, threads, data, threadpool_limits(limits=threads))


def fit_once(setup: Setup, max_iter: int, verbose: int = 0) -> dict:
    """Train a new model on the setup's data; its numbers, ``fit_seconds`` the fit alone."""
    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_info

    X_tr, X_te, y_tr, y_te = setup.data
    used = {}
    if setup.library == "skdl":
        import torch

        from skdl import MLPClassifier
        from skdl.estimators import resolve_device

        clf = MLPClassifier(max_iter=max_iter, random_state=setup.seed, verbose=verbose)
        device = resolve_device(clf.device)
        torch.zeros(1, device=device)  # the device's initialisation is not the fit's
        name = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        used["torch"] = torch.get_num_threads()
    else:
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(max_iter=max_iter, random_state=setup.seed, verbose=verbose > 1)
        name = "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        tic = time.perf_counter()
        clf.fit(X_tr, y_tr)
        fit_seconds = time.perf_counter() - tic
    accuracy = clf.score(X_te, y_te)
    for pool in threadpool_info():
        key = pool["user_api"]  # 'blas' or 'openmp'
        used[key] = max(used.get(key, 0), pool["num_threads"])
    return {
        "library": setup.library,
        "accuracy": float(accuracy),
        "fit_seconds": fit_seconds,
        "epochs": int(clf.n_iter_),
        "device": name,
        "threads": max(used.values()),  # the most any of its thread pools had
        "thread_pools": used,
        "imported_torch": "torch" in sys.modules,
    }


def main(argv=None, stdin=None, stdout=None) -> None:
    """Serve ``fit`` lines from ``stdin`` (see the module's docstring)."""
    library, dataset, seed, threads = (sys.argv[1:] if argv is None else argv)[:4]
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    setup = prepare(library, dataset, int(seed), int(threads))
    print(json.dumps({"ready": True}), file=stdout, flush=True)
    for line in stdin:
        command, *args = line.split()
        if command != "fit":
            raise ValueError(f"unknown command {command!r}")
        # stdout carries the replies: what the fit prints (verbose lines) goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            result = fit_once(setup, *map(int, args))
        print(json.dumps(result), file=stdout, flush=True)


if __name__ == "__main__":
    # run by path: this file's folder (skdl/) is no place to import packages from
    if sys.path and sys.path[0] and __file__.startswith(sys.path[0]):
        del sys.path[0]
    main()
