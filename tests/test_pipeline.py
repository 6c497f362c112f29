"""The pipeline end to end on a tiny configuration, its caching/resume, config validation and the CLI."""

import csv
import json
import warnings

import numpy as np
import pytest

from faceit import cli
from faceit.errors import ConfigError
from faceit.pipeline import config_from_dict, load_config, run_pipeline
from faceit.pipeline import analysis as analysis_module
from faceit.pipeline.analysis import SUMMARY_COLUMNS

TINY = {
    "stimuli": {"n_train_images": 200, "n_stimuli": 150, "n_test": 10, "size": 32},
    "responses": {"n_neurons": 20, "n_trials": 4, "populations": ["axis", "mixed"]},
    "models": {"betas": [4.0], "seeds": [0], "steps": 4, "latent_dim": 4, "ae": True,
               "baselines": ["pca", "aam"], "baseline_units": 4, "baseline_train_images": 150},
    "analysis": {"n_permutations": 20, "subset_repeats": 3, "mixed_repeats": 2, "n_rotations": 2, "cv": 3},
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    with warnings.catch_warnings():  # a 4-step β-VAE may have no informative unit (a warning says so)
        warnings.simplefilter("ignore", UserWarning)
        run_pipeline(config_from_dict(json.loads(json.dumps(TINY))), out, report=False)
    return out


def test_summary_tables_have_the_design_columns(tiny_run):
    with open(tiny_run / "results" / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == SUMMARY_COLUMNS
    models = {r["model"] for r in rows}
    assert {"pca", "aam", "ae-seed0", "beta_vae-beta4-seed0"} <= models
    assert {r["population"] for r in rows} == {"axis", "mixed"}
    assert len(rows) == len(models) * 2
    pca_axis = next(r for r in rows if r["model"] == "pca" and r["population"] == "axis")
    assert 0 <= float(pca_axis["alignment"]) <= 1
    assert 0 < float(pca_axis["matched_r_p"]) <= 1
    assert json.loads((tiny_run / "results" / "summary.json").read_text())[0].keys() == set(SUMMARY_COLUMNS)
    assert (tiny_run / "results" / "pairs.csv").read_text().startswith("model,population,unit,neuron,r,p_fwer")


def test_rerun_reuses_every_finished_stage(tiny_run, monkeypatch):
    before = (tiny_run / "results" / "summary.csv").read_text()

    def refuse(*args, **kwargs):
        raise AssertionError("a finished (model, population) pair was recomputed")

    monkeypatch.setattr(analysis_module, "analyse_pair", refuse)
    run_pipeline(config_from_dict(json.loads(json.dumps(TINY))), tiny_run, report=False)
    assert (tiny_run / "results" / "summary.csv").read_text() == before


def test_changed_analysis_config_recomputes(tiny_run, monkeypatch):
    calls = []
    original = analysis_module.analyse_pair
    monkeypatch.setattr(analysis_module, "analyse_pair", lambda *a, **k: calls.append(1) or original(*a, **k))
    changed = json.loads(json.dumps(TINY))
    changed["analysis"]["n_permutations"] = 21
    changed["models"]["baselines"] = ["pca"]
    changed["models"]["ae"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_pipeline(config_from_dict(changed), tiny_run, report=False)
    assert len(calls) == 4  # pca and the β-VAE, on two populations


@pytest.mark.parametrize("data, key", [
    ({"stimuli": {"size": 48}}, "stimuli.size"),
    ({"models": {"betas": []}}, "models.betas"),
    ({"models": {"bogus": 1}}, "models.bogus"),
    ({"analysis": {"n_permutations": "many"}}, "analysis.n_permutations"),
    ({"analysis": {"backend": "gpu"}}, "analysis.backend"),
    ({"responses": {"populations": ["axis", "weird"]}}, "responses.populations"),
    ({"nonsense": {}}, "nonsense"),
    ({"analysis": {"n_permutations": 0}}, "analysis.n_permutations"),
    ({"analysis": {"subset_repeats": 0}}, "analysis.subset_repeats"),
    ({"responses": {"n_neurons": 0}}, "responses.n_neurons"),
])
def test_config_errors_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        config_from_dict(data)


def test_a_run_trains_with_the_recipes_steps_unless_told():
    from faceit.models.train import DEFAULT_STEPS

    assert config_from_dict({}).models.steps == DEFAULT_STEPS


def test_example_config_is_valid(tmp_path):
    config = load_config("examples/run.toml")
    assert config.models.betas == [1.0, 4.0, 12.0, 16.0]
    bad = tmp_path / "bad.toml"
    bad.write_text("[models\nbetas = 1")
    with pytest.raises(ConfigError, match="bad.toml"):
        load_config(bad)


def test_cli_turns_faceit_errors_into_one_line_and_exit_2(tmp_path, capsys):
    rates = tmp_path / "rates.npy"
    np.save(rates, np.ones((5, 3)))
    assert cli.main(["align", "--units", str(tmp_path / "missing.npz"), "--responses", str(rates)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("faceit: error:") and "missing.npz" in err[0]
    assert cli.main(["run", str(tmp_path / "none.toml")]) == 2
    assert "none.toml" in capsys.readouterr().err
    assert cli.main(["run", str(tmp_path)]) == 2  # a folder, not a file
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot read the configuration file" in err[0]


def test_cli_align_and_permtest_on_simulated_data(tmp_path, capsys):
    from faceit.neural import simulate_population

    factors = np.random.default_rng(0).uniform(-1, 1, (300, 4))
    simulate_population(factors, n_neurons=12, tuning="axis", n_trials=4, seed=0).save(tmp_path / "pop.npz")
    np.savez(tmp_path / "units.npz", units=factors)
    assert cli.main(["align", "--units", str(tmp_path / "units.npz"), "--responses", str(tmp_path / "pop.npz"),
                     "--rotations", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["alignment"] > out["rotation_control"] and out["matched_r"] > 0.5
    assert cli.main(["permtest", "--units", str(tmp_path / "units.npz"), "--responses", str(tmp_path / "pop.npz"),
                     "-n", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["p_value"] == pytest.approx(1 / 51) and len(out["pair_p_values"]) == 4


def test_cli_lines_units_up_with_responses_by_the_ids_faceit_encode_saves(tmp_path, capsys):
    from faceit.neural import Responses, simulate_population

    factors = np.random.default_rng(0).uniform(-1, 1, (200, 4))
    pop = simulate_population(factors, n_neurons=10, tuning="axis", n_trials=4, seed=0)
    ids = np.array([f"face{i:03d}" for i in range(200)])
    np.savez(tmp_path / "units.npz", units=factors, ids=ids)
    Responses(pop.rates, stimulus_ids=ids).save(tmp_path / "in_order.npz")
    order = np.random.default_rng(1).permutation(200)
    Responses(pop.rates[order], stimulus_ids=ids[order]).save(tmp_path / "shuffled.npz")
    outs = []
    for name in ("in_order", "shuffled"):
        assert cli.main(["align", "--units", str(tmp_path / "units.npz"), "--responses",
                         str(tmp_path / f"{name}.npz"), "--rotations", "0"]) == 0
        outs.append(json.loads(capsys.readouterr().out))
    assert outs[0]["matched_r"] > 0.5 and outs[1]["matched_r"] == pytest.approx(outs[0]["matched_r"])
    assert outs[1]["alignment"] == pytest.approx(outs[0]["alignment"])


def test_findings_state_what_the_numbers_show():
    from faceit.pipeline.analysis import findings
    from faceit.pipeline.stages import ModelEntry

    models = [ModelEntry("b8", "beta_vae", None, 8.0, 0), ModelEntry("b4", "beta_vae", None, 4.0, 0),
              ModelEntry("b1", "vae", None, 1.0, 0), ModelEntry("pca", "pca", None), ModelEntry("ica", "ica", None)]
    rec = {"alignment_rotation": 0.1, "alignment_p": 0.001}
    results = {"udr": {"b8": 0.3, "b4": 0.2, "b1": 0.1},
               "pairs": {("b8", "axis"): {**rec, "alignment": 0.6, "recon_n_neurons": 5,
                                          "recon_cosine_distance": 0.1, "recon_identification": 0.5},
                         ("b4", "axis"): {**rec, "alignment": 0.4}, ("b1", "axis"): {**rec, "alignment": 0.2},
                         ("pca", "axis"): {**rec, "alignment": 0.5}, ("ica", "axis"): {**rec, "alignment": 0.7}}}
    text = " ".join(findings(models, results))
    assert "b8, the β-VAE ranked first by UDR" in text
    assert "better than the best pca (0.50), vae (0.20)" in text and "does not beat ica (0.70)" in text
    assert "UDR and alignment correlate with r = 1.00" in text
    assert "used 5 neurons" in text


def test_run_on_user_images_and_recorded_responses(tmp_path):
    """`faceit run` on a folder of PNGs and a responses file whose ids are the file names."""
    from PIL import Image

    from faceit.neural import Responses, simulate_population
    from faceit.stimuli import synthetic_faces

    faces = synthetic_faces(90, seed=5, size=32)
    folder = tmp_path / "images"
    folder.mkdir()
    names = [f"face{i:03d}" for i in range(90)]
    for name, image in zip(names, faces.images):
        Image.fromarray(image).save(folder / f"{name}.png")
    sim = simulate_population(faces.factors, n_neurons=15, tuning="axis", n_trials=4, seed=5)
    recorded = tmp_path / "session.npz"
    Responses(rates=sim.rates[::-1], trials=sim.trials[::-1], stimulus_ids=np.array(names[::-1])).save(recorded)
    config = tmp_path / "run.toml"
    config.write_text(f"""
[stimuli]
source = "{folder}"
n_test = 10
[responses]
source = "{recorded}"
[models]
betas = [4.0]
seeds = [0]
steps = 3
latent_dim = 3
ae = false
baselines = ["pca", "aam", "classifier"]
baseline_units = 3
[analysis]
n_permutations = 10
subset_repeats = 2
mixed_repeats = 2
n_rotations = 2
cv = 3
""")
    with pytest.warns(UserWarning):  # aam (no landmarks) and classifier (no identities) are skipped, said so
        assert cli.main(["run", str(config), "--out", str(tmp_path / "run"), "--no-report"]) == 0
    with open(tmp_path / "run" / "results" / "summary.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model"] for r in rows} == {"pca", "beta_vae-beta4-seed0"}
    assert {r["population"] for r in rows} == {"session"}
    pca = next(r for r in rows if r["model"] == "pca")
    # responses were stored in reverse order: aligning them by id must restore the tuning
    assert float(pca["matched_r"]) > 0.5  # about 0.69 aligned, 0.23 if the order were left reversed

    # the recording replaced at the same path: a rerun reads it anew instead of reusing the old scores
    scrambled = np.random.default_rng(0).permutation(90)  # the rates now answer other faces than their ids say
    Responses(rates=sim.rates[scrambled], stimulus_ids=np.array(names)).save(recorded)
    with pytest.warns(UserWarning):
        assert cli.main(["run", str(config), "--out", str(tmp_path / "run"), "--no-report"]) == 0
    with open(tmp_path / "run" / "results" / "summary.csv") as fh:
        noisy = next(r for r in csv.DictReader(fh) if r["model"] == "pca")
    assert float(noisy["matched_r"]) < float(pca["matched_r"]) - 0.2


def test_a_trained_sweep_keeps_the_beta_one_member_a_plain_vae(tmp_path):
    # the recipe's TC critic for β > 1; the paper's VAE baseline (β = 1) and the AE without one
    from faceit.models import load_model
    from faceit.models.vae import DEFAULT_TC_WEIGHT
    from faceit.pipeline.config import config_from_dict
    from faceit.pipeline.stages import train_autoencoders
    from faceit.stimuli import synthetic_faces

    config = config_from_dict({"models": {"checkpoints": "train", "betas": [1.0, 4.0], "seeds": [0], "steps": 2,
                                          "latent_dim": 3, "ae": True}})
    folders = train_autoencoders(config, synthetic_faces(32, seed=0, size=32, world="pairs8").images, tmp_path)
    weights = {p.name: load_model(p).config["tc_weight"] for p in folders}
    assert weights == {"beta_vae-beta1-seed0": 0.0, "beta_vae-beta4-seed0": DEFAULT_TC_WEIGHT, "ae-seed0": 0.0}


def test_models_trained_on_other_images_are_not_reused(tmp_path):
    from faceit.pipeline.stages import trained_models_folder
    from faceit.pipeline.store import RunStore

    store = RunStore(tmp_path)
    base = config_from_dict({"models": {"steps": 20}})
    folders = {trained_models_folder(config_from_dict(change), store)
               for change in ({"models": {"steps": 20}}, {"models": {"steps": 20, "betas": [4.0]}})}
    assert folders == {trained_models_folder(base, store)}  # which β and seeds: folders inside it
    for change in ({"stimuli": {"seed": 1}}, {"stimuli": {"world": "pairs8"}}, {"models": {"steps": 10}},
                   {"models": {"steps": 20, "latent_dim": 5}}):
        change.setdefault("models", {}).setdefault("steps", 20)
        assert trained_models_folder(config_from_dict(change), store) != trained_models_folder(base, store)


def test_findings_without_a_rotation_control():
    from faceit.pipeline.analysis import findings
    from faceit.pipeline.stages import ModelEntry

    models = [ModelEntry("b", "beta_vae", None, 4.0, 0)]
    results = {"udr": {"b": 0.5}, "pairs": {("b", "axis"): {"alignment": 0.6, "alignment_rotation": None,
                                                            "alignment_p": 0.01}}}
    (text,) = findings(models, results)
    assert "aligns at 0.60 (permutation p = 0.01)" in text


def test_report_rebuilds_keep_the_notes_and_find_relative_sources(tiny_run, tmp_path, monkeypatch):
    import faceit.report.build as build_module

    seen = []
    monkeypatch.setattr(build_module, "build_report", lambda *a, notes, **k: seen.append(notes) or tmp_path / "r.html")
    config = config_from_dict(json.loads(json.dumps(TINY)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_pipeline(config, tiny_run, notes=["shipped checkpoints"])
        run_pipeline(config, tiny_run)  # as `faceit report` calls it
    assert seen[0][0] == seen[1][0] == "shipped checkpoints"

    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "rates.npy", np.ones((3, 2)))
    monkeypatch.chdir(tmp_path)
    relative = config_from_dict({"stimuli": {"source": "data"}, "responses": {"source": "data/rates.npy"}})
    assert relative.responses.source == str(tmp_path / "data" / "rates.npy")
    assert relative.stimuli.source == str(tmp_path / "data")


def test_units_with_ids_pair_by_position_with_responses_that_have_none(tmp_path, capsys):
    """faceit encode saves the images' names; a .npy of rates names no stimulus: rows pair in order."""
    from faceit.neural import simulate_population

    factors = np.random.default_rng(0).uniform(-1, 1, (200, 4))
    pop = simulate_population(factors, n_neurons=10, tuning="axis", n_trials=4, seed=0)
    np.savez(tmp_path / "units.npz", units=factors, ids=np.array([f"face{i:03d}" for i in range(200)]))
    np.save(tmp_path / "rates.npy", pop.rates)
    assert cli.main(["permtest", "--units", str(tmp_path / "units.npz"), "--responses", str(tmp_path / "rates.npy"),
                     "-n", "20"]) == 0
    assert json.loads(capsys.readouterr().out)["observed"] > 0.5


def test_a_new_run_of_a_folder_does_not_inherit_the_last_runs_notes(tiny_run, monkeypatch):
    import faceit.report.build as build_module

    seen = []
    monkeypatch.setattr(build_module, "build_report", lambda *a, notes, **k: seen.append(notes) or tiny_run / "r.html")
    (tiny_run / "tiny.toml").write_text(
        "\n".join(f"[{section}]\n" + "\n".join(f"{k} = {json.dumps(v)}" for k, v in values.items())
                  for section, values in TINY.items()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_pipeline(config_from_dict(json.loads(json.dumps(TINY))), tiny_run, notes=["from the demo"])
        assert cli.main(["run", str(tiny_run / "tiny.toml"), "--out", str(tiny_run)]) == 0
    assert "from the demo" in seen[0] and "from the demo" not in seen[1]


def test_the_trained_models_folder_follows_only_what_sets_the_training_images(tmp_path):
    from faceit.pipeline.stages import trained_models_folder
    from faceit.pipeline.store import RunStore

    store = RunStore(tmp_path)
    base = trained_models_folder(config_from_dict({}), store)
    for change in ({"stimuli": {"n_stimuli": 500}}, {"stimuli": {"n_test": 30}}, {"analysis": {"cv": 3}}):
        assert trained_models_folder(config_from_dict(change), store) == base


def test_run_on_named_images_and_a_recording_without_ids(tmp_path):
    """A .npy of rates names no stimulus: its rows pair with the images in order, through every stage."""
    from PIL import Image

    from faceit.neural import simulate_population
    from faceit.stimuli import synthetic_faces

    faces = synthetic_faces(80, seed=6, size=32)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(faces.images):
        Image.fromarray(image).save(folder / f"face{i:03d}.png")
    np.save(tmp_path / "rates.npy", simulate_population(faces.factors, n_neurons=12, tuning="axis", seed=6).rates)
    config = config_from_dict({
        "stimuli": {"source": str(folder), "n_test": 10},
        "responses": {"source": str(tmp_path / "rates.npy")},
        "models": {"betas": [4.0], "seeds": [0], "steps": 2, "latent_dim": 3, "ae": False, "baselines": ["pca"],
                   "baseline_units": 3},
        "analysis": {"n_permutations": 10, "subset_repeats": 2, "mixed_repeats": 2, "n_rotations": 2, "cv": 3}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        run_pipeline(config, tmp_path / "run", report=False)
    with open(tmp_path / "run" / "results" / "summary.csv") as fh:
        pca = next(r for r in csv.DictReader(fh) if r["model"] == "pca")
    assert float(pca["matched_r"]) > 0.5 and pca["recon_cosine_distance"] != ""
