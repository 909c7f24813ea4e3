"""P1 (single-row ``predict`` latency) and P2 (``predict_proba`` on many rows).

P2 runs each measurement in a fresh subprocess (this file, run as a script) so
the peak resident set size is that of one ``predict_proba`` call, not of
everything the parent did before.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np
from common import fmt_ratio, fmt_s, make_data, markdown_table, median, workloads
from runners import BASELINE, FLOOR, RUNNERS

P2_LIBS = ("scikit-learn", "skdl")


def set_threads(threads: int) -> object:
    """Same thread count for torch and for BLAS/OpenMP; keep the return alive."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    return threadpool_limits(limits=threads)


# ---------------------------------------------------------------- P1


def bench_latency(libs: list[str], quick: bool, device: str, n_calls: int) -> str:
    """Median and p90 of ``predict(X[:1])`` after a short W1 fit, interleaved."""
    w = dataclasses.replace(workloads(quick)["W1"], epochs=2)
    d = make_data(w)
    models, errors = {}, {}
    for lib in libs:
        try:
            models[lib] = RUNNERS[lib](w, d, 0, device).model
        except Exception as exc:  # report any failure as a row
            errors[lib] = f"not available: {type(exc).__name__}: {exc}"[:200]
    x = d.X_test[:1]
    times: dict[str, list[float]] = {lib: [] for lib in models}
    chunk = 50
    for r in range(n_calls // chunk + 1):  # round 0 is warm-up
        for lib, m in models.items():
            for _ in range(chunk):
                t0 = time.perf_counter()
                m.predict(x)
                dt = time.perf_counter() - t0
                if r:
                    times[lib].append(dt)
    med = {lib: median(ts) for lib, ts in times.items()}
    rows = []
    for lib in libs:
        if lib in errors:
            rows.append([lib, errors[lib], "", "", "", ""])
            continue
        ts = np.array(times[lib])
        rows.append(
            [
                lib,
                f"{med[lib] * 1e6:.0f}",
                f"{np.percentile(ts, 90) * 1e6:.0f}",
                fmt_ratio(med[lib], med.get(FLOOR, float("nan"))),
                fmt_ratio(med[lib], med.get(BASELINE, float("nan"))),
                str(len(ts)),
            ]
        )
    header = ["library", "median µs", "p90 µs", "× torch loop", "× sklearn", "calls"]
    return markdown_table(header, rows)


# ---------------------------------------------------------------- P2


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM); Linux >= 4.0."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def p2_child(lib: str, rows: int, quick: bool, device: str) -> dict:
    """Fit a W2-shaped model on a little data, then predict_proba on ``rows`` rows."""
    w = workloads(quick)["W2"]
    w = dataclasses.replace(w, epochs=1, n_samples=min(w.n_samples, 2_000))
    model = RUNNERS[lib](w, make_data(w), 0, device).model
    X = np.random.default_rng(0).standard_normal((rows, w.n_features), np.float32)
    model.predict_proba(X[:1000])  # warm-up: lazy initialization is not the point
    gc.collect()
    peak_before = max(_status_mb("VmHWM"), _ru_maxrss_mb())
    exact = _reset_peak()  # else the peak may predate the call (marked in the table)
    rss_before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    proba = model.predict_proba(X)
    secs = time.perf_counter() - t0
    peak_call = _status_mb("VmHWM") if exact else _ru_maxrss_mb()
    return {
        "seconds": secs,
        "rss_before_mb": rss_before,
        "peak_call_mb": peak_call,
        "peak_mb": max(peak_before, peak_call),
        "exact": exact,
        "x_mb": X.nbytes / 2**20,
        "out_mb": np.asarray(proba).nbytes / 2**20,
        "shape": list(np.shape(proba)),
    }


def bench_proba(
    libs: list[str], row_counts: list[int], quick: bool, device: str, threads: int
) -> str:
    """One fresh process per (rows, library).

    The call's extra memory is the RSS high-water mark during ``predict_proba``
    (reset just before it) minus the RSS just before it; X is already resident.
    """
    rows = []
    for n in row_counts:
        for lib in libs:
            cmd = [sys.executable, os.path.abspath(__file__), "--lib", lib]
            cmd += ["--rows", str(n), "--device", device, "--threads", str(threads)]
            cmd += ["--quick"] if quick else []
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode:
                err = (proc.stderr.strip().splitlines() or ["?"])[-1][:160]
                rows.append([lib, f"{n:,}", f"not available: {err}", "", "", "", ""])
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            extra = r["peak_call_mb"] - r["rss_before_mb"]
            note = "" if r["exact"] else " (upper bound)"
            rows.append(
                [
                    lib,
                    f"{n:,}",
                    fmt_s(r["seconds"]),
                    f"{r['peak_mb']:.0f}",
                    f"{extra:.0f}{note}",
                    f"{r['x_mb']:.0f}",
                    f"{r['out_mb']:.0f}",
                ]
            )
    header = ["library", "rows", "predict_proba s", "process peak RSS MB"]
    header += ["call's peak − RSS before, MB", "X MB", "output MB"]
    return markdown_table(header, rows)


def main() -> None:
    p = argparse.ArgumentParser(description="P2 child: one predict_proba, as JSON.")
    p.add_argument("--lib", choices=sorted(RUNNERS), required=True)
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--quick", action="store_true")
    a = p.parse_args()
    _limits = set_threads(a.threads)  # keep the limits in force
    print(json.dumps(p2_child(a.lib, a.rows, a.quick, a.device)))


if __name__ == "__main__":
    main()
