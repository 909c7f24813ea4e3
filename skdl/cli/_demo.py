"""``skdl demo``: skdl's MLPClassifier against scikit-learn's, each in a timed process."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

from ._common import UsageError

DATASETS = ("digits", "breast_cancer", "wine", "iris")


def _load(name):
    from sklearn import datasets

    return getattr(datasets, f"load_{name}")(return_X_y=True)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _demo_command(library, dataset, seed, threads) -> tuple[list, dict]:
    """The argv and environment of a library's timed process, held to ``threads``."""
    script = Path(__file__).parents[1] / "_demo_run.py"
    argv = [sys.executable, str(script), library, dataset, str(seed), str(threads)]
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    # the process imports this copy of skdl, not whichever one is installed
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return argv, env


class _DemoProcess:
    """A fresh Python process that trains one library's MLP on request (``skdl/_demo_run.py``)."""

    def __init__(self, library, dataset, seed, threads):
        import subprocess

        argv, env = _demo_command(library, dataset, seed, threads)
        self.library = library
        self.start = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._reply()  # {"ready": true}: imported, data loaded and scaled

    def _reply(self) -> dict:
        import json

        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait()
            raise UsageError(
                f"the demo's {self.library} process failed (exit status "
                f"{self.proc.returncode}); its error is printed above"
            )
        return json.loads(line)

    def fit(self, max_iter: int, verbose: int) -> dict:
        self.proc.stdin.write(f"fit {max_iter} {verbose}\n")
        self.proc.stdin.flush()
        return self._reply()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def demo(
    dataset: str = "digits",
    max_iter: int = 200,
    seed: int = 0,
    compare: bool = True,
    repeats: int = 3,
    threads: int | None = None,
) -> dict:
    """Train on ``dataset``, time it against scikit-learn, print a report, return the numbers.

    Each library runs in a fresh Python process of its own, held to
    ``threads`` threads for torch and for the BLAS scikit-learn multiplies
    with (default: the CPUs this process may use, or 1 when the load average
    exceeds them: on a busy machine more threads wait for each other, and
    scikit-learn's OpenBLAS threads spin). Each trains ``repeats``
    models, the fits interleaved (skdl, scikit-learn, then scikit-learn,
    skdl, ...). Returns, per library: ``fit_seconds``, the median time of the
    MLP's ``fit`` alone (``fit_runs``: every fit's); ``process_seconds``, the
    time from starting the process to the first fit's score (interpreter,
    imports, data, scaling, fit, scoring: a one-fit script's run); the test
    accuracy, epochs, device and threads.
    """
    if repeats < 1:
        raise UsageError(f"--repeats must be at least 1, got {repeats}")
    machine = _machine(threads)
    threads = machine["threads"]
    if threads < 1:
        raise UsageError(f"--threads must be at least 1, got {threads}")
    X, y = _load(dataset)
    print(
        f"skdl demo: {dataset} ({X.shape[0]} samples, {X.shape[1]} features, "
        f"{len(set(y))} classes), 75/25 stratified split",
        flush=True,
    )
    libraries = ["skdl", "scikit-learn"] if compare else ["skdl"]
    results = _summarize(_run_fits(libraries, dataset, seed, threads, repeats, max_iter))
    _print_table(results)
    for note in _notes(repeats, machine):
        print(textwrap.fill(note, width=88))
    return results


def _machine(threads: int | None) -> dict:
    """The CPUs, the load average, and the threads to use (chosen when ``threads`` is None)."""
    cpus = _available_cpus()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    busy = load > cpus
    chosen = threads is None
    if chosen:  # on a busy machine, more threads only wait for each other
        threads = 1 if busy else cpus
    return {"cpus": cpus, "load": load, "busy": busy, "chosen": chosen, "threads": threads}


def _run_fits(libraries, dataset, seed, threads, repeats, max_iter) -> dict:
    """Each library's fit replies, the fits interleaved, one process per library."""
    runs = {name: [] for name in libraries}
    processes = {}
    try:
        for r in range(repeats):
            for name in libraries if r % 2 == 0 else libraries[::-1]:
                if name not in processes:  # started when first needed: one process at a time
                    processes[name] = _DemoProcess(name, dataset, seed, threads)
                # one progress bar, on a terminal: the first fit (elsewhere verbose
                # would print scikit-learn's line per epoch, as its verbose=True)
                verbose = int(name == "skdl" and r == 0 and _isatty(sys.stderr))
                runs[name].append(processes[name].fit(max_iter, verbose))
                if r == 0:
                    runs[name][0]["process_seconds"] = time.perf_counter() - processes[name].start
    finally:
        for process in processes.values():
            process.close()
    return runs


def _summarize(runs: dict) -> dict:
    """Per library: the median fit time, every fit's, and the first fit's numbers."""
    import statistics

    results = {}
    for name, done in runs.items():
        fits = [d["fit_seconds"] for d in done]
        results[name] = {
            "accuracy": done[0]["accuracy"],
            "fit_seconds": statistics.median(fits),
            "process_seconds": done[0]["process_seconds"],
            "epochs": done[0]["epochs"],
            "device": done[0]["device"],
            "threads": max(d["threads"] for d in done),
            "fit_runs": fits,
        }
    return results


def _print_table(results: dict) -> None:
    print()
    print(
        f"{'model':<14}{'test accuracy':>14}{'fit s':>8}{'process s':>11}"
        f"{'epochs':>8}  {'device':<8}{'threads':>7}"
    )
    for name, r in results.items():
        print(
            f"{name:<14}{r['accuracy']:>14.4f}{r['fit_seconds']:>8.2f}"
            f"{r['process_seconds']:>11.2f}{r['epochs']:>8d}  {r['device']:<8}{r['threads']:>7d}"
        )
    print()


def _notes(repeats: int, machine: dict) -> list[str]:
    """What the times mean, and how the machine was held (and whether it was busy)."""
    from sklearn import __version__ as sk_version

    threads, cpus, load = machine["threads"], machine["cpus"], machine["load"]
    fits = "1 fit" if repeats == 1 else f"the median of {repeats} fits"
    notes = [
        f"fit s: {fits} (interleaved between the libraries) of the MLP alone on "
        "standardized data; process s: from starting a fresh Python process to its first "
        "fit's score (imports, data, scaling, fit, scoring).",
        f"Both held to {threads} thread{'s' * (threads != 1)} (torch.set_num_threads, "
        f"threadpoolctl, OMP/OPENBLAS/MKL_NUM_THREADS) on {_cpu_name()}, {cpus} CPUs "
        f"available, load average {load:.2f} at the start; torch {_torch_version()}, "
        f"scikit-learn {sk_version}. Change with --repeats and --threads.",
    ]
    if machine["busy"]:
        why = f"The machine is busy (load {load:.1f} on {cpus} CPUs): times vary from run to run"
        if machine["chosen"]:
            why += ", so both ran on 1 thread (more would wait for each other; --threads N)."
        elif threads > 1:
            why += f", and {threads} threads may wait for each other (--threads 1 avoids it)."
        notes.append(why if why.endswith(".") else why + ".")
    return notes


def _cpu_name() -> str:
    import platform

    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "(not installed)"
