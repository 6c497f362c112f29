"""Run the whole pipeline into one folder: stages, summary tables, figures and report.html."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

from .._io import atomic_write_text
from .analysis import SUMMARY_COLUMNS, analyse, findings, summary_rows
from .config import RunConfig
from .stages import encode_models, make_models, make_responses, make_stimuli
from .store import RunStore


def write_tables(store: RunStore, rows: list[dict], results: dict) -> dict:
    """results/summary.csv and .json, plus per-neuron and per-pair tables beside them."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if r[k] is None else r[k]) for k in SUMMARY_COLUMNS} for r in rows)
    atomic_write_text(store.path("results", "summary.csv"), buf.getvalue())
    atomic_write_text(store.path("results", "summary.json"), json.dumps(rows, indent=1))

    neurons, pairs = io.StringIO(), io.StringIO()
    neuron_rows, pair_rows = csv.writer(neurons, lineterminator="\n"), csv.writer(pairs, lineterminator="\n")
    neuron_rows.writerow(["model", "population", "neuron", "alignment_d", "explained_variance"])
    pair_rows.writerow(["model", "population", "unit", "neuron", "r", "p_fwer"])
    for (model, pop), rec in results["pairs"].items():
        if "per_neuron" not in rec:
            continue
        pn = rec["per_neuron"]
        ev = dict(zip(pn["ev_neuron"], pn["ev_r2"]))
        for neuron, d in zip(pn["neuron"], pn["alignment_d"]):
            neuron_rows.writerow([model, pop, neuron, f"{d:.6g}", f"{ev.get(neuron, float('nan')):.6g}"])
        pp = rec["pairs"]
        p_fwer = pp["p_fwer"] or [float("nan")] * len(pp["r"])
        for unit, neuron, r, p in zip(pp["unit"], pp["neuron"], pp["r"], p_fwer):
            pair_rows.writerow([model, pop, unit, neuron, f"{r:.6g}", f"{p:.6g}"])
    atomic_write_text(store.path("results", "per_neuron.csv"), neurons.getvalue())
    atomic_write_text(store.path("results", "pairs.csv"), pairs.getvalue())
    return {"summary_csv": str(store.root / "results" / "summary.csv")}


def run_pipeline(config: RunConfig, out, *, report: bool = True, notes: list[str] | None = None) -> Path:
    """Run every stage into ``out``; finished stages are reused. Returns the path of report.html
    (or of results/summary.csv when ``report`` is False).

    notes: lines for the head of the report, saved in the run folder (notes.json); None keeps the
    ones saved by an earlier run of the folder, so that ``faceit report`` rebuilds the same page.
    """
    started = time.perf_counter()
    store = RunStore(out)
    atomic_write_text(store.path("config.json"), json.dumps(config.to_dict(), indent=1))
    notes_path = store.root / "notes.json"
    if notes is not None:
        atomic_write_text(notes_path, json.dumps(list(notes), indent=1))
    elif notes_path.is_file():
        notes = json.loads(notes_path.read_text())
    stimuli = make_stimuli(config, store)
    populations = make_responses(config, store, stimuli)
    models = make_models(config, store, stimuli)
    reps = encode_models(config, store, stimuli, models)
    results = analyse(config, store, stimuli, populations, models, reps)
    rows = summary_rows(models, results)
    write_tables(store, rows, results)
    found = findings(models, results)
    atomic_write_text(store.path("results", "findings.txt"), "\n".join(found) + "\n")
    if not report:
        return store.root / "results" / "summary.csv"
    from ..report.build import build_report

    return build_report(store, config, stimuli, populations, models, reps, results, rows,
                        notes=list(notes or []) + found, seconds=time.perf_counter() - started)
