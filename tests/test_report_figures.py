"""The report's figure functions and HTML page, each on small inputs."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from PIL import Image

from faceit.errors import DataError
from faceit.report import figures as F
from faceit.pipeline.stages import ModelEntry
from faceit.report.build import best_factors, model_labels
from faceit.report.html import Figure, Section, Table, format_cell, png_data_uri, render_report, write_report


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        assert im.format == "PNG"
        im.load()  # decodes the whole image: a truncated file fails here
        return im.size


def test_alignment_by_class_writes_a_png(tmp_path, rng):
    scores = {"beta_vae": {"score": rng.uniform(0.3, 0.6, 3), "rotation": rng.uniform(0.1, 0.2, 3)},
              "pca": {"score": [0.4], "rotation": [np.nan]}}
    path = F.alignment_by_class(tmp_path / "a.png", scores, ceiling=rng.uniform(0.5, 0.6, 5), note="a note")
    w, h = png_size(path)
    assert (w, h) == (int(round(max(3.6, 0.75 * 2 + 1.6) * F.DPI)), int(round(3.0 * F.DPI)))
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_alignment_by_class_rejects_unpaired_rotation(tmp_path):
    with pytest.raises(DataError, match=r"scores\['pca'\]: 1 rotation controls for 2 scores"):
        F.alignment_by_class(tmp_path / "a.png", {"pca": {"score": [0.1, 0.2], "rotation": [0.1]}})
    with pytest.raises(DataError, match="scores: no model"):
        F.alignment_by_class(tmp_path / "a.png", {})
    assert not (tmp_path / "a.png").exists()


def test_mixed_control_with_and_without_control_panel(tmp_path):
    by_pop = {"axis": {"beta_vae": [0.5, 0.6], "pca": [0.4]}, "mixed": {"beta_vae": [0.2], "pca": [0.3]}}
    one = F.mixed_control(tmp_path / "one.png", by_pop, {})
    two = F.mixed_control(tmp_path / "two.png", by_pop, {"β-VAE\naxis": {"observed": 0.5, "mixed": [0.2, 0.25, 0.3]}})
    assert png_size(two)[0] > png_size(one)[0]


def test_udr_vs_alignment_checks_pairing(tmp_path):
    path = F.udr_vs_alignment(tmp_path / "u.png", [0.1, 0.2, 0.3], [0.3, 0.4, 0.6], [1.0, 4.0, 16.0], note="r")
    png_size(path)
    with pytest.raises(DataError, match="paired"):
        F.udr_vs_alignment(tmp_path / "u.png", [0.1, 0.2], [0.3, 0.4, 0.6], [1.0, 4.0, 16.0])
    with pytest.raises(DataError, match="udr"):
        F.udr_vs_alignment(tmp_path / "u.png", [[0.1]], [0.3], [1.0])


def test_factor_heatmap_grows_with_the_grid_and_checks_its_labels(tmp_path, rng):
    small = F.factor_heatmap(tmp_path / "s.png", rng.uniform(0, 1, (2, 3)), ["m0", "m1"], ["f0", "f1", "f2"])
    big = F.factor_heatmap(tmp_path / "b.png", rng.uniform(0, 1, (6, 8)), [f"m{i}" for i in range(6)],
                           [f"f{j}" for j in range(8)], note="a note")
    assert png_size(big)[0] > png_size(small)[0] and png_size(big)[1] > png_size(small)[1]
    with pytest.raises(DataError, match=r"\[rows, columns\] = \[2, 2\].*got \[2, 3\]"):
        F.factor_heatmap(tmp_path / "x.png", np.zeros((2, 3)), ["m0", "m1"], ["f0", "f1"])
    with pytest.raises(DataError, match="NaN"):
        F.factor_heatmap(tmp_path / "x.png", [[0.1, np.nan]], ["m0"], ["f0", "f1"])
    assert not (tmp_path / "x.png").exists()


def test_running_correlation_and_nulls_and_tuning(tmp_path, rng):
    png_size(F.running_correlation(tmp_path / "r.png", [2.0, 4.0, 16.0], [0.5, 0.7, 0.9], [0.2, 0.04, 0.001],
                                   [3, 5, 8]))
    panels = [{"title": "m: matched |r|", "null": rng.normal(0.2, 0.02, 200), "observed": 0.5, "p": 1 / 201},
              {"title": "m: alignment", "null": rng.normal(0.3, 0.02, 200), "observed": 0.31, "p": 0.3}]
    png_size(F.permutation_nulls(tmp_path / "n.png", panels))
    x = rng.normal(size=50)
    png_size(F.tuning_scatter(tmp_path / "t.png", [{"title": "u0", "unit": x, "rate": 3 * x + 10}]))
    with pytest.raises(DataError, match="'u0': 50 unit values but 49 rates"):
        F.tuning_scatter(tmp_path / "t.png", [{"title": "u0", "unit": x, "rate": x[:49]}])
    with pytest.raises(DataError, match="inf"):
        F.permutation_nulls(tmp_path / "n.png", [{"title": "m", "null": [0.1, np.inf], "observed": 0.2}])


def test_explained_variance_and_cosine_distances(tmp_path, rng):
    panels = {"axis": {"β-VAE": ("beta_vae", rng.uniform(0, 1, 30)), "PCA": ("pca", rng.uniform(0, 1, 30))},
              "mixed": {}}
    w, h = png_size(F.explained_variance(tmp_path / "e.png", panels))
    assert h == int(round((1.0 + 2.2) * F.DPI))  # the empty population gets no panel
    with pytest.raises(DataError, match="no model"):
        F.explained_variance(tmp_path / "e.png", {"axis": {}})
    png_size(F.cosine_distances(tmp_path / "c.png", {"β-VAE": ("beta_vae", rng.uniform(0, 1, 12))}, note="p"))
    with pytest.raises(DataError, match="distances"):
        F.cosine_distances(tmp_path / "c.png", {})


def test_best_factors_matches_numpy_corrcoef(rng):
    factors = rng.normal(size=(200, 3))
    units = np.column_stack([-2 * factors[:, 1] + rng.normal(0, 0.5, 200), factors[:, 2] + factors[:, 0],
                             np.ones(200)])
    got = best_factors(units, factors, ["a", "b", "c"])
    r = np.abs(np.corrcoef(units[:, :2].T, factors.T)[:2, 2:])
    for k in range(2):
        assert got[k][0] == "abc"[r[k].argmax()]
        assert got[k][1] == pytest.approx(r[k].max(), rel=1e-12)
    assert got[2] == ("a", 0.0)  # a constant unit correlates with nothing
    with pytest.raises(DataError, match="factor_names: 2 names for 3"):
        best_factors(units, factors, ["a", "b"])
    with pytest.raises(DataError, match="units has 200 stimuli"):
        best_factors(units, factors[:10], ["a", "b", "c"])


def test_model_labels_are_short_and_unique():
    models = [ModelEntry("beta_vae-beta4-seed0", "beta_vae", None, 4.0, 0),
              ModelEntry("beta_vae-beta4-seed1", "beta_vae", None, 4.0, 1),
              ModelEntry("sweepA/b4", "beta_vae", None, 4.0, None),
              ModelEntry("sweepB/b4", "beta_vae", None, 4.0, None),
              ModelEntry("ae-seed0", "ae", None, None, 0), ModelEntry("pca", "pca", None)]
    assert model_labels(models) == {"beta_vae-beta4-seed0": "β-VAE β=4 s0", "beta_vae-beta4-seed1": "β-VAE β=4 s1",
                                    "sweepA/b4": "sweepA/b4", "sweepB/b4": "sweepB/b4", "ae-seed0": "AE",
                                    "pca": "PCA"}


# --------------------------------------------------------------------------- HTML

def test_png_data_uri_round_trips_and_rejects_other_files(tmp_path):
    path = F.tuning_scatter(tmp_path / "t.png", [{"title": "u", "unit": [0, 1, 2], "rate": [1, 2, 4]}])
    uri = png_data_uri(path)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == path.read_bytes()
    (tmp_path / "x.png").write_text("not a png")
    with pytest.raises(DataError, match="x.png: not a PNG"):
        png_data_uri(tmp_path / "x.png")
    with pytest.raises(DataError, match="missing.png: cannot read"):
        png_data_uri(tmp_path / "missing.png")


def test_format_cell():
    assert [format_cell(v) for v in (None, float("nan"), 3, 0.0196078, 1234.5, "pca", True)] == \
        ["–", "–", "3", "0.0196", "1.23e+03", "pca", "True"]


def test_render_report_numbers_figures_and_escapes_text(tmp_path):
    a = F.tuning_scatter(tmp_path / "a.png", [{"title": "u", "unit": [0, 1, 2], "rate": [1, 2, 4]}])
    sections = [Section("One <b>", "text & more", figures=[Figure(a, "First", "caption <i>")],
                        skipped=["x: because"]),
                Section("Two", figures=[Figure(a, "Second", "c")],
                        tables=[Table(["model", "p"], [["pca", 0.01234], ["ae", None]], "scores")])]
    page = render_report("Title", sections, notes=["note <1>"], meta=["run time 3 s"])
    assert "Figure 1. First." in page and "Figure 2. Second." in page
    assert "One &lt;b&gt;" in page and "caption &lt;i&gt;" in page and "note &lt;1&gt;" in page
    assert "<td>0.0123</td>" in page and "<td>–</td>" in page
    assert "Not shown: x: because" in page
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 2
    with pytest.raises(DataError, match="2 cells for 3 columns"):
        render_report("T", [Section("S", tables=[Table(["a", "b", "c"], [[1, 2]])])])
    out = write_report(tmp_path / "r" / "report.html", "Title", sections)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_user_strings_with_dollar_signs_print_as_themselves(tmp_path, rng):
    """Model and population names come from folders and file stems; "$" must not start mathtext."""
    scores = {"beta_vae": {"score": rng.uniform(0.3, 0.6, 3)}, "ae$x": {"score": [0.2]}}
    path = F.alignment_by_class(tmp_path / "a.png", scores, ceiling_label="rates$_$x: 4 neurons", note="p$ 1$")
    assert png_size(path)[0] > 0


def test_summary_side_tables_are_proper_csv(tmp_path):
    import csv

    from faceit.pipeline.run import write_tables
    from faceit.pipeline.store import RunStore

    record = {"per_neuron": {"neuron": [0], "alignment_d": [0.5], "ev_neuron": [0], "ev_r2": [0.2]},
              "pairs": {"unit": [1], "neuron": [0], "r": [0.7], "p_fwer": [0.01]}}
    store = RunStore(tmp_path)
    write_tables(store, [], {"pairs": {("pca", "monkeyA,day1"): record}})
    with open(tmp_path / "results" / "per_neuron.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[1] == ["pca", "monkeyA,day1", "0", "0.5", "0.2"]
    with open(tmp_path / "results" / "pairs.csv") as fh:
        assert list(csv.reader(fh))[1] == ["pca", "monkeyA,day1", "1", "0", "0.7", "0.01"]


def test_the_corrected_explained_variance_is_a_ratio_of_means():
    from types import SimpleNamespace

    from faceit.pipeline.analysis import _corrected_mean

    ev = SimpleNamespace(r2=np.array([0.2, 0.3, 0.5, 0.1]), noise_ceiling=np.array([0.4, 0.6, 0.0, np.nan]))
    assert _corrected_mean(ev) == pytest.approx((0.2 + 0.3) / 2 / ((0.4 + 0.6) / 2))
    assert _corrected_mean(SimpleNamespace(r2=ev.r2, noise_ceiling=None)) is None
