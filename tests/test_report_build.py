"""report.html built from a small real pipeline run (stimuli, populations, models, analyse), then
opened in headless Chromium to prove that every embedded figure decodes."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from faceit.errors import DataError
from faceit.models import BetaVAE
from faceit.models.baselines import PCA, Autoencoder
from faceit.pipeline.analysis import analyse, summary_rows, top_udr_model
from faceit.pipeline.config import config_from_dict
from faceit.pipeline.stages import ModelEntry, encode_models, make_responses, make_stimuli
from faceit.pipeline.store import RunStore
from faceit.report.build import build_report
from faceit.report.html import PNG_SIGNATURE

CONFIG = {
    "stimuli": {"n_train_images": 200, "n_stimuli": 150, "n_test": 12},
    "responses": {"n_neurons": 20, "n_trials": 4, "populations": ["axis", "mixed"]},
    "models": {"betas": [1.0, 2.0, 4.0, 8.0], "seeds": [0], "steps": 1, "latent_dim": 4, "baselines": ["pca"],
               "baseline_units": 4, "baseline_train_images": 150},
    "analysis": {"n_permutations": 19, "subset_repeats": 3, "mixed_repeats": 3, "n_rotations": 2, "cv": 3},
}


def untrained_vae(beta: float, seed: int, family: str = "beta_vae", collapsed: bool = False) -> BetaVAE:
    """A β-VAE straight from its initialisation. Its posterior means are nearly constant (a collapsed
    model); scaling the mean head makes them vary (informative units) so the report has scores to show."""
    torch.manual_seed(seed)
    model = BetaVAE(latent_dim=4, beta=beta, image_size=32, family=family)
    if not collapsed:
        with torch.no_grad():
            model.encoder_out.weight[:4] *= 400.0
            model.encoder_out.bias[:4] = 0.0
    return model.eval()


def make_models(stimuli, collapsed_betas=()) -> list[ModelEntry]:
    entries = []
    for beta in CONFIG["models"]["betas"]:
        family = "vae" if beta == 1.0 else "beta_vae"
        model = untrained_vae(beta, seed=int(beta), collapsed=beta in collapsed_betas)
        name = f"beta_vae-beta{beta:g}-seed0"
        entries.append(ModelEntry(name, family, Autoencoder.from_model(model, name=name), beta, 0))
    ae = untrained_vae(0.0, seed=7, family="ae")
    entries.append(ModelEntry("ae-seed0", "ae", Autoencoder.from_model(ae, name="ae-seed0"), None, 0))
    entries.append(ModelEntry("pca", "pca", PCA(n_units=4, name="pca").fit(stimuli.train_images[:150])))
    return entries


def run_and_report(root: Path, collapsed_betas=()) -> dict:
    config = config_from_dict(CONFIG)
    store = RunStore(root)
    stimuli = make_stimuli(config, store)
    populations = make_responses(config, store, stimuli)
    models = make_models(stimuli, collapsed_betas)
    reps = encode_models(config, store, stimuli, models)
    with pytest.warns(UserWarning) if collapsed_betas else contextlib.nullcontext():
        results = analyse(config, store, stimuli, populations, models, reps)
    rows = summary_rows(models, results)
    path = build_report(store, config, stimuli, populations, models, reps, results, rows,
                        notes=["a <tiny> test run"], seconds=1.5)
    return {"path": path, "root": root, "results": results, "rows": rows, "models": models, "reps": reps,
            "config": config, "stimuli": stimuli, "populations": populations}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    return run_and_report(tmp_path_factory.mktemp("run"))


def embedded_images(page: str) -> dict:
    """data-file name -> decoded PNG bytes of every <img> in the page."""
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"[^>]*data-file="([^"]+)"', page)
    return {name: base64.b64decode(data) for data, name in found}


def test_every_figure_is_embedded_and_written(report):
    page = report["path"].read_text()
    images = embedded_images(page)
    files = sorted(p.name for p in (report["root"] / "figures").glob("*.png"))
    assert sorted(images) == files
    assert page.count("<img ") == len(files)
    expected = {"stimuli.png", "fig3b_alignment.png", "fig3c_mixed_control.png", "fig3d_udr_alignment.png",
                "fig3e_running_correlation.png", "explained_variance.png", "permutation_nulls.png",
                "matched_tuning.png", "traversals.png", "fig7b_reconstructions.png", "fig7c_cosine_distance.png",
                "mig_alignment.png", "mig_per_factor.png"}
    assert expected <= set(files)
    for name, data in images.items():
        assert data == (report["root"] / "figures" / name).read_bytes()
        assert data.startswith(PNG_SIGNATURE)
    assert "Not shown" not in page


def test_page_is_self_contained_and_small(report):
    page = report["path"].read_text()
    assert report["path"].stat().st_size < 3_000_000
    # no external resources: every src is a data URI, no stylesheet or script is fetched
    assert re.findall(r'src="(?!data:image/png;base64,)', page) == []
    assert "<link" not in page and "http://" not in page and "https://" not in page
    assert "a &lt;tiny&gt; test run" in page and "<tiny>" not in page  # notes are escaped
    assert "run time 2 s" in page


def test_udr_correlation_matches_scipy(report):
    results, models = report["results"], report["models"]
    alignment = {e.name: results["pairs"][(e.name, "axis")].get("alignment") for e in models}
    names = [n for n, a in alignment.items() if n in results["udr"] and a is not None]
    assert len(names) == 4
    r, p = stats.pearsonr([results["udr"][n] for n in names], [alignment[n] for n in names])
    page = report["path"].read_text()
    assert f"Pearson r = {r:.2f}, p = {p:.3g}, n = 4" in page
    names = [n for n, a in alignment.items() if a is not None]
    r, p = stats.pearsonr([results["mig"][n] for n in names], [alignment[n] for n in names])
    assert f"Pearson r = {r:.2f}, p = {p:.3g}, n = {len(names)}" in page


def test_mig_per_factor_is_recomputed_and_averages_to_mig(report):
    from faceit.compare import mig_per_factor

    results, stimuli = report["results"], report["stimuli"]
    per_factor = results["mig_per_factor"]
    assert per_factor["factors"] == stimuli.experiment.factor_names
    assert set(per_factor["models"]) == set(results["mig"]) == set(report["reps"])
    for name, rep in report["reps"].items():
        expected = mig_per_factor(rep.units[:, rep.informative], stimuli.experiment.factors)
        np.testing.assert_allclose(per_factor["models"][name], expected, atol=1e-12)
        assert results["mig"][name] == pytest.approx(expected.mean(), abs=1e-12)


def test_score_table_holds_every_row(report):
    page = html.unescape(report["path"].read_text())
    table = page[page.index("<h2>Every score</h2>"):]
    body_rows = re.findall(r"<tr><td>(.*?)</td></tr>", table)
    assert len(body_rows) == len(report["rows"])
    for row, cells in zip(report["rows"], body_rows):
        values = cells.split("</td><td>")
        assert values[0] == row["model"] and values[1] == row["population"]
        for key in ("alignment", "alignment_p", "matched_r", "matched_r_p"):
            assert f"{row[key]:.3g}" in values


def test_traversals_label_units_with_factor_and_neuron(report):
    top = top_udr_model(report["models"], report["results"]["udr"])
    page = report["path"].read_text()
    assert f"Top β-VAE by UDR (chosen without neural data): {top}." in page
    pairs = report["results"]["pairs"][(top, "axis")]["pairs"]
    assert len(pairs["unit"]) == report["reps"][top].n_informative


def test_collapsed_models_are_left_out_with_reasons(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "traversals.png").write_bytes(b"an earlier build's figure")
    out = run_and_report(tmp_path, collapsed_betas=(2.0, 4.0, 8.0))
    page = out["path"].read_text()
    # the neuron-subset ceiling never uses fewer than 2 neurons as "units" (1 aligns with itself at 1)
    assert all(c["subset_k"] >= 2 for c in out["results"]["controls"].values())
    assert "have no scores and are left out of the figures" in page
    assert "has no informative unit (collapsed)" in page
    assert "Not shown: UDR against alignment" in page
    # what can still be drawn is drawn, and every embedded figure is a file
    images = embedded_images(page)
    assert {"stimuli.png", "fig3b_alignment.png", "explained_variance.png", "fig7c_cosine_distance.png"} <= set(images)
    assert "traversals.png" not in images
    assert {p.name for p in (tmp_path / "figures").glob("*.png")} == set(images)  # no stale figure left


# --------------------------------------------------------------------------- headless Chromium

def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="chromium is not installed (CI installs Debian's chromium)")
def test_every_figure_loads_in_headless_chromium(report, tmp_path):
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
           "--dump-dom", report["path"].resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    n_files = len(list((report["root"] / "figures").glob("*.png")))
    check = re.search(r'<p id="figure-check"[^>]*data-total="(\d+)" data-loaded="(\d+)"', dom)
    assert check is not None, dom[:2000]
    assert check.groups() == (str(n_files), str(n_files))
    flags = re.findall(r'<img [^>]*data-loaded="(true|false)"', dom)
    assert flags == ["true"] * n_files


def test_reconstruction_tests_are_over_models_and_match_scipy(report):
    """The page's Fig 7 tests take each model's median distance as one observation (design 4.7): the
    β-VAEs against each class with scipy's Welch test, or its one-sample test against a one-model class."""
    results, models = report["results"], report["models"]
    scores = {}
    for e in models:
        scores.setdefault(e.family, []).append(results["pairs"][(e.name, "axis")]["recon_cosine_distance"])
    beta_vaes = scores.pop("beta_vae")
    assert len(beta_vaes) >= 2
    page = html.unescape(report["path"].read_text())
    table = page[page.index("<th>β-VAE vs</th>"):]
    table = table[:table.index("</table>")]
    for family, label in (("vae", "VAE"), ("ae", "AE"), ("pca", "PCA")):
        other = scores[family]
        if len(other) == 1:
            test, p = "one-sample", stats.ttest_1samp(beta_vaes, other[0], alternative="less").pvalue
        else:
            test, p = "welch", stats.ttest_ind(beta_vaes, other, equal_var=False, alternative="less").pvalue
        row = re.search(rf"<tr><td>{label}</td><td>(.*?)</td></tr>", table).group(1).split("</td><td>")
        assert row[:2] == [str(len(beta_vaes)), str(len(other))]
        assert row[2] == f"{np.median(beta_vaes):.3g}" and row[3] == f"{np.median(other):.3g}"
        assert row[4] == test and row[-1] == f"{p:.3g}"


def test_recorded_population_without_known_factors(report, tmp_path):
    """Real data: one population under another name, stimuli without generative factors, no MIG."""
    results = report["results"]
    recorded = {
        "pairs": {(m, "recorded"): rec for (m, pop), rec in results["pairs"].items() if pop == "axis"},
        "udr": results["udr"], "mig": {}, "controls": {"recorded": results["controls"]["axis"]}}
    rows = [dict(row, population="recorded", mig=None) for row in report["rows"] if row["population"] == "axis"]
    exp = dataclasses.replace(report["stimuli"].experiment, factors=None, factor_names=[])
    stimuli = dataclasses.replace(report["stimuli"], experiment=exp)
    populations = {"recorded": report["populations"]["axis"]}
    path = build_report(RunStore(tmp_path), report["config"], stimuli, populations, report["models"], report["reps"],
                        recorded, rows)
    page = html.unescape(path.read_text())
    assert "Not shown" not in page
    assert "Their generative factors" not in page
    assert "(recorded population)" in page
    assert "axis population" not in page and "mixed population" not in page and "'mixed'" not in page
    assert len(embedded_images(page)) == len(list((tmp_path / "figures").glob("*.png"))) == 11


def test_no_population_is_a_data_error(report, tmp_path):
    with pytest.raises(DataError, match="populations: the report needs at least one population"):
        build_report(RunStore(tmp_path), report["config"], report["stimuli"], {}, report["models"], report["reps"],
                     report["results"], report["rows"])
    assert not (tmp_path / "report.html").exists()
