"""Cold start: a whole Python process that imports, fits W1 once and predicts.

This is what a script or the CLI pays. Each run is a fresh interpreter timed
from the outside with ``time.perf_counter`` around ``subprocess.run``; peak RSS
comes from ``/usr/bin/time -v`` when present, else from the child's own
``getrusage``. Runs are interleaved, the first round (disk cache) is discarded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
from common import fmt_ratio, fmt_s, markdown_table, median

GNU_TIME = "/usr/bin/time"

_FIT_SCRIPT = """\
import json, resource, time, warnings
t0 = time.perf_counter()
from {module} import MLPClassifier
t_import = time.perf_counter() - t0
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
clf = MLPClassifier(hidden_layer_sizes=(100,), solver="adam", batch_size=200,
                    max_iter={epochs}, tol=0.0, n_iter_no_change={epochs} + 1,
                    alpha=0.0, random_state=0)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    clf.fit(X, y)
acc = float((clf.predict(X) == y).mean())
print(json.dumps({{"import_s": t_import, "n_iter": int(clf.n_iter_), "train_acc": acc,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""

_FLOOR_SCRIPT = """\
import json, resource, time
t0 = time.perf_counter()
{imports}
t_import = time.perf_counter() - t0
print(json.dumps({{"import_s": t_import,
    "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}}))
"""


SK_IMPORT = "python + import sklearn.neural_network"
BOTH_IMPORT = "python + import torch, sklearn.neural_network"
SK_FIT = "scikit-learn: import, fit W1, predict"
SKDL_FIT = "skdl: import, fit W1, predict"
SLACK_S = 0.3
"""What skdl's whole process may add to torch's and scikit-learn's imports and
scikit-learn's own cold fit (issue 15, section 4)."""


def scripts(epochs: int) -> dict[str, str]:
    """The processes compared: floors for reading, then sklearn and skdl."""
    return {
        "python (no-op)": _FLOOR_SCRIPT.format(imports="pass"),
        "python + import torch": _FLOOR_SCRIPT.format(imports="import torch"),
        SK_IMPORT: _FLOOR_SCRIPT.format(imports="import sklearn.neural_network"),
        BOTH_IMPORT: _FLOOR_SCRIPT.format(imports="import torch, sklearn.neural_network"),
        SK_FIT: _FIT_SCRIPT.format(module="sklearn.neural_network", epochs=epochs),
        SKDL_FIT: _FIT_SCRIPT.format(module="skdl", epochs=epochs),
    }


def bound_line(walls: dict[str, float]) -> str:
    """skdl's whole process against the bound: both imports (as a process) plus
    scikit-learn's cold fit (its process minus its import process) plus SLACK_S."""
    if not all(k in walls for k in (BOTH_IMPORT, SK_FIT, SK_IMPORT, SKDL_FIT)):
        return ""
    bound = walls[BOTH_IMPORT] + (walls[SK_FIT] - walls[SK_IMPORT]) + SLACK_S
    skdl = walls[SKDL_FIT]
    verdict = "within" if skdl <= bound else "over"
    return (
        f"Bound: import torch, sklearn ({walls[BOTH_IMPORT]:.3f} s) + scikit-learn's cold "
        f"fit ({walls[SK_FIT] - walls[SK_IMPORT]:.3f} s) + {SLACK_S} s = {bound:.3f} s; "
        f"skdl's process {skdl:.3f} s: {verdict} it by {abs(bound - skdl):.3f} s (medians)."
    )


def _run_once(code: str) -> dict:
    use_time = os.access(GNU_TIME, os.X_OK)
    cmd = ([GNU_TIME, "-v"] if use_time else []) + [sys.executable, "-c", code]
    t0 = time.perf_counter()
    # A neutral cwd: `python -c` puts cwd first on sys.path, and a script imports
    # the installed package, not a source checkout that happens to be the cwd.
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
    wall = time.perf_counter() - t0
    if proc.returncode:
        lines = [ln for ln in proc.stderr.splitlines() if "Command exited" not in ln]
        err = next((ln for ln in reversed(lines) if "Error" in ln), "?")
        raise RuntimeError(err.strip()[:160])
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall_s"] = wall
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    out["peak_mb"] = int(m.group(1) if m else out["maxrss_kb"]) / 1024
    return out


def bench_cold(n_runs: int, epochs: int) -> str:
    """Median whole-process wall time over ``n_runs`` fresh interpreters each."""
    progs = scripts(epochs)
    runs: dict[str, list[dict]] = {name: [] for name in progs}
    errors: dict[str, str] = {}
    for r in range(n_runs + 1):  # round 0 warms the disk cache and is dropped
        for name, code in progs.items():
            if name in errors:
                continue
            try:
                res = _run_once(code)
            except RuntimeError as exc:
                errors[name] = f"not available: {exc}"
                continue
            if r:
                runs[name].append(res)
    sk = median([x["wall_s"] for x in runs[SK_FIT]])
    rows = []
    for name in progs:
        if name in errors:
            rows.append([name, errors[name], "", "", "", "", ""])
            continue
        wall = [x["wall_s"] for x in runs[name]]
        n_iter = {x.get("n_iter") for x in runs[name]} - {None}
        rows.append(
            [
                name,
                fmt_s(median(wall)),
                f"{fmt_s(min(wall))}–{fmt_s(max(wall))}",
                fmt_ratio(median(wall), sk),
                fmt_s(median([x["import_s"] for x in runs[name]])),
                f"{np.median([x['peak_mb'] for x in runs[name]]):.0f}",
                ",".join(str(i) for i in sorted(n_iter)) or "—",
            ]
        )
    header = ["process", "wall s (median)", "min–max", "× sklearn", "import s"]
    header += ["peak RSS MB", "epochs"]
    walls = {name: median([x["wall_s"] for x in runs[name]]) for name in progs if runs[name]}
    return markdown_table(header, rows) + "\n\n" + bound_line(walls)
