"""Run the skdl benchmarks and print Markdown tables.

    python benchmarks/run.py [--quick] [--repeats N] [--only W1,W2,W3,P1,P2,COLD]
                             [--device cpu|cuda] [--threads T] [--out FILE]

See benchmarks/README.md for the workloads and how to read the tables.
"""

from __future__ import annotations

import argparse
import datetime
import os
import shlex
import sys
import time

import numpy as np
from coldstart import bench_cold
from common import (
    env_lines,
    fmt_ratio,
    fmt_s,
    make_data,
    markdown_table,
    median,
    workloads,
)
from inference import P2_LIBS, bench_latency, bench_proba, set_threads
from runners import BASELINE, FLOOR, RUNNERS, adam_impl

SECTIONS = ("W1", "W2", "W3", "P1", "P2", "COLD")


def bench_workload(
    w, libs: list[str], repeats: int, device: str, dtype: str = "float32"
) -> list[list[str]]:
    """Interleaved repeats (round 0 is a discarded warm-up); one row per library."""
    d = make_data(w, dtype=np.dtype(dtype))
    results: dict[str, list] = {lib: [] for lib in libs}
    errors: dict[str, str] = {}
    for r in range(repeats + 1):
        k = r % len(libs)  # rotate the order so no library always runs first
        for lib in libs[k:] + libs[:k]:
            if lib in errors:
                continue
            try:
                res = RUNNERS[lib](w, d, r, device)
            except Exception as exc:  # report any failure as a row
                errors[lib] = f"not available: {type(exc).__name__}: {exc}"[:200]
                continue
            if r:
                results[lib].append(res)
    med = {lib: median([x.seconds for x in rs]) for lib, rs in results.items()}
    rows = []
    for lib in libs:
        if lib in errors:
            rows.append([w.name, lib, errors[lib]] + [""] * 5)
            continue
        rs = results[lib]
        secs = [x.seconds for x in rs]
        epochs = sorted({x.epochs for x in rs})
        ok = epochs == [w.epochs]
        rows.append(
            [
                w.name,
                lib,
                fmt_s(med[lib]),
                f"{fmt_s(min(secs))}–{fmt_s(max(secs))}",
                fmt_ratio(med[lib], med.get(FLOOR, float("nan"))),
                fmt_ratio(med[lib], med.get(BASELINE, float("nan"))),
                ",".join(map(str, epochs)) + ("" if ok else f" ≠ {w.epochs} (!)"),
                f"{median([x.score for x in rs]):.4f}",
            ]
        )
    return rows


def _load() -> str:
    """1/5/15-minute load averages: other work on the machine skews timings."""
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="tiny sizes, < 1 minute")
    p.add_argument("--repeats", type=int, default=None, help="default 5 (quick: 1)")
    p.add_argument("--only", default=",".join(SECTIONS), help="comma-separated")
    p.add_argument("--device", default="cpu", help="cpu or cuda (torch libraries)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--libs", default=",".join(RUNNERS), help="comma-separated")
    p.add_argument("--out", default=None, help="also write the report here")
    p.add_argument(
        "--dtype",
        default="float32",
        choices=("float32", "float64"),
        help="X's dtype for W1-W3 (skdl and scikit-learn train in it)",
    )
    a = p.parse_args(argv)
    a.repeats = a.repeats if a.repeats is not None else (1 if a.quick else 5)
    a.only = [s.strip().upper() for s in a.only.split(",") if s.strip()]
    a.libs = [s.strip() for s in a.libs.split(",") if s.strip()]
    bad = sorted(set(a.only) - set(SECTIONS)) + sorted(set(a.libs) - set(RUNNERS))
    if bad:
        p.error(f"unknown section or library {bad}; choose from {SECTIONS} / {tuple(RUNNERS)}")
    return a


def main(argv: list[str] | None = None) -> str:
    a = parse_args(argv)
    _limits = set_threads(a.threads)  # keep the limits in force
    command = "python " + " ".join(shlex.quote(x) for x in [sys.argv[0], *sys.argv[1:]])
    out = ["# skdl benchmarks", "", f"Command: `{command}`", ""]
    out += [f"- Date: {datetime.datetime.now():%Y-%m-%d %H:%M}"]
    out += env_lines(a.threads, a.device)
    out += [
        f"- Repeats: {a.repeats} (interleaved, after 1 discarded warm-up round); "
        f"hand loop optimizer: Adam({adam_impl(a.device)})",
        "",
    ]
    print("\n".join(out), flush=True)
    wl = workloads(a.quick)
    load_start = _load()
    t_start = time.perf_counter()

    def section(title: str, body: str) -> None:
        out.extend([f"## {title}", "", body, ""])
        print(f"## {title}\n\n{body}\n", flush=True)

    fit_names = [n for n in ("W1", "W2", "W3") if n in a.only]
    if fit_names:
        rows = []
        for n in fit_names:
            rows += bench_workload(wl[n], a.libs, a.repeats, a.device, a.dtype)
        header = ["workload", "library", "fit s (median)", "min–max", "× torch loop"]
        header += ["× sklearn", "epochs run", "test score"]
        lines = [f"- {n}: {wl[n].description}" for n in fit_names]
        section("Training", "\n".join(lines) + "\n\n" + markdown_table(header, rows))
    if "P1" in a.only:
        n_calls = 200 if a.quick else 1000
        section(
            "P1: single-row predict latency",
            f"`predict(X[:1])` on a W1 model, {n_calls} calls per library, "
            "interleaved in rounds of 50 (one warm-up round dropped).\n\n"
            + bench_latency(a.libs, a.quick, a.device, n_calls),
        )
    if "P2" in a.only:
        row_counts = [10_000, 40_000] if a.quick else [250_000, 1_000_000]
        libs = [lib for lib in P2_LIBS if lib in a.libs]
        section(
            "P2: predict_proba on many rows (fresh process each)",
            f"W2-shaped model ({wl['W2'].n_features} features, hidden "
            f"{wl['W2'].hidden}, 5 classes), float32 X. If the prediction is "
            "chunked, the call's peak − RSS before stays flat as rows grow, apart from "
            "the output array.\n\n" + bench_proba(libs, row_counts, a.quick, a.device, a.threads),
        )
    if "COLD" in a.only:
        n_runs = 1 if a.quick else 5
        epochs = wl["W1"].epochs
        section(
            "Cold start: whole process",
            f"`python -c '<import; fit digits, hidden (100,), batch 200, {epochs} "
            f"epochs; predict>'`, {n_runs} runs each, interleaved, medians; "
            "default threads, raw (unscaled) digits as a script would load them.\n\n"
            + bench_cold(n_runs, epochs),
        )
    out.append(
        f"Total benchmark time: {time.perf_counter() - t_start:.0f} s; "
        f"load average at the end: {_load()} (at the start: {load_start})."
    )
    print(out[-1])
    report = "\n".join(out) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(report)
    return report


if __name__ == "__main__":
    main()
