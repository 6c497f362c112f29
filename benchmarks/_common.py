"""Shared helpers for the benchmark scripts: timing and one JSON line per result."""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time


def machine() -> dict:
    """A short description of where the numbers came from."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": platform.processor() or platform.machine(), "cores": cores, "python": platform.python_version()}


def median_time(fn, inputs, repeat: int = 1) -> float:
    """Median wall time in seconds of fn(x) over the inputs (each run `repeat` times)."""
    times = []
    for x in inputs:
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def wall_time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def emit(benchmark: str, **fields) -> None:
    """Print one JSON line: the benchmark name, its figures and the machine."""
    record = {"benchmark": benchmark, **fields, "machine": machine()}
    print(json.dumps(record), flush=True)
    sys.stdout.flush()
