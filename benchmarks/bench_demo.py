"""The demo's budget (design section 6): `faceit demo` in a fresh run folder, wall time and peak RSS.

    python benchmarks/bench_demo.py [--out DIR]

Target: <= 5 minutes on 2 CPU cores, peak RSS <= 4 GB. The run folder starts empty, so every
stage runs (the shipped checkpoints are loaded, the baselines fitted, all statistics computed).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from _common import emit  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None,
                        help="run folder, kept afterwards; must not exist yet or be empty (default: a temporary "
                             "folder, removed afterwards)")
    args = parser.parse_args()
    if args.out is not None and os.path.exists(args.out) and (not os.path.isdir(args.out) or os.listdir(args.out)):
        parser.error(f"--out {args.out}: exists and is not an empty folder; the demo must start from an empty one")
    scratch = None if args.out else tempfile.mkdtemp(prefix="faceit-demo-bench-")
    out = args.out or os.path.join(scratch, "run")
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "faceit.cli", "demo", "--out", out],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    emit("demo", workload="faceit demo, fresh run folder", seconds=round(seconds, 1), returncode=proc.returncode,
         peak_rss_gb=round(peak_kb / 1024**2, 2), target_seconds=300, target_peak_rss_gb=4.0,
         meets_targets=proc.returncode == 0 and seconds <= 300 and peak_kb / 1024**2 <= 4.0,
         report=proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else None)


if __name__ == "__main__":
    main()
