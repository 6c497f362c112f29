"""The Responses container: validation, trial averaging, selection, z-scoring, saving."""

import dataclasses
import json
from collections import defaultdict

import numpy as np
import pytest
from scipy import stats

from faceit.errors import ConfigError, DataError
from faceit.neural import Responses, load_responses, simulate_population


@pytest.fixture
def simulated():
    factors = np.random.default_rng(3).uniform(-1, 1, size=(30, 6))
    return simulate_population(factors, n_neurons=8, n_trials=4, seed=0,
                               stimulus_ids=[f"s{i}" for i in range(30)])


def test_defaults_and_shapes(rng):
    resp = Responses(rng.normal(size=(5, 3)))
    assert (resp.n_stimuli, resp.n_neurons, resp.n_trials) == (5, 3, 0)
    assert resp.stimulus_ids.tolist() == [0, 1, 2, 3, 4] and resp.neuron_ids.tolist() == [0, 1, 2]
    assert "n_stimuli=5" in repr(resp)


@pytest.mark.parametrize("kwargs, match", [
    ({"rates": [[1.0, np.nan]]}, r"rates: contains nan at index \(0, 1\)"),
    ({"rates": [[1.0, np.inf]]}, "rates: contains inf"),
    ({"rates": [1.0, 2.0]}, "rates: expected a 2-D array"),
    ({"rates": np.zeros((0, 3))}, "rates: expected at least 1 rows"),
    ({"rates": np.ones((2, 2)), "trials": np.ones((2, 3, 4))}, "trials has shape"),
    ({"rates": np.ones((2, 2)), "trials": np.full((2, 2, 2), np.inf)}, "trials: contains inf"),
    ({"rates": np.ones((2, 2)), "trials": np.full((2, 2, 2), np.nan)}, "no recorded trial"),
    ({"rates": np.ones((2, 2)), "stimulus_ids": ["a", "a"]}, r"stimulus_ids: duplicate ids \['a'\]"),
    ({"rates": np.ones((2, 2)), "neuron_ids": [7, 7]}, "neuron_ids: duplicate ids"),
    ({"rates": np.ones((2, 2)), "stimulus_ids": [1, 2, 3]}, "stimulus_ids: has 3 ids but the data have 2"),
    ({"rates": np.ones((2, 2)), "stimulus_ids": [1.5, 2.0]}, "integers or strings"),
    ({"rates": np.ones((2, 2)), "metadata": [1]}, "metadata must be a dict"),
])
def test_validation(kwargs, match):
    with pytest.raises(DataError, match=match):
        Responses(**kwargs)


def test_tuning_must_match(simulated):
    with pytest.raises(DataError, match="tuning describes 8 neurons"):
        Responses(simulated.rates[:, :3], tuning=simulated.tuning)


def test_whole_number_float_ids_become_integers():
    resp = Responses(np.ones((2, 1)), stimulus_ids=np.array([[3.0, 4.0]]))  # a MATLAB row vector
    assert resp.stimulus_ids.dtype == np.int64 and resp.stimulus_ids.tolist() == [3, 4]


def test_from_trials_averages_recorded_trials(rng):
    trials = rng.normal(size=(4, 3, 5))
    trials[0, 1, 2:] = np.nan
    resp = Responses.from_trials(trials)
    expected = np.array([[np.mean([v for v in trials[s, n] if not np.isnan(v)]) for n in range(3)] for s in range(4)])
    np.testing.assert_allclose(resp.rates, expected)


def test_from_presentations_groups_repeats(rng):
    shown = np.array(["b", "a", "b", "c", "a", "b"])
    values = rng.normal(size=(6, 2))
    resp = Responses.from_presentations(values, shown)
    # reference: plain-python grouping in order of first appearance
    groups = defaultdict(list)
    for sid, row in zip(shown, values):
        groups[str(sid)].append(row)
    assert resp.stimulus_ids.tolist() == list(groups)
    assert resp.n_trials == 3
    for i, rows in enumerate(groups.values()):
        np.testing.assert_allclose(resp.rates[i], np.mean(rows, axis=0))
        np.testing.assert_allclose(resp.trials[i, :, : len(rows)].T, rows)
        assert np.isnan(resp.trials[i, :, len(rows):]).all()


def test_subset_by_ids_keeps_everything_in_step(simulated):
    sub = simulated.subset(stimulus_ids=["s4", "s0"], neuron_ids=[5, 1])
    np.testing.assert_array_equal(sub.rates, simulated.rates[[4, 0]][:, [5, 1]])
    np.testing.assert_array_equal(sub.trials, simulated.trials[[4, 0]][:, [5, 1]])
    assert sub.stimulus_ids.tolist() == ["s4", "s0"] and sub.neuron_ids.tolist() == [5, 1]
    np.testing.assert_array_equal(sub.tuning.axes, simulated.tuning.axes[[5, 1]])
    assert simulated.subset(neuron_ids=[2]).n_stimuli == 30


def test_subset_errors(simulated):
    with pytest.raises(DataError, match=r"1 of 2 requested stimulus ids are not in the responses, e.g. \['zz'\]"):
        simulated.subset(stimulus_ids=["s1", "zz"])
    with pytest.raises(DataError, match="duplicate"):
        simulated.subset(neuron_ids=[1, 1])


def test_align_to_images(simulated):
    class Images:
        ids = np.array(["s9", "s3", "s7"])

    aligned = simulated.align_to(Images())
    assert aligned.stimulus_ids.tolist() == ["s9", "s3", "s7"]
    np.testing.assert_array_equal(aligned.rates, simulated.rates[[9, 3, 7]])
    with pytest.raises(DataError, match="cannot align the responses to the stimuli: 1 of 2"):
        simulated.align_to(["s1", "face_99"])
    with pytest.raises(DataError, match="the requested ids are integers and the responses' are strings"):
        simulated.align_to([1, 2])


def test_zscore_matches_scipy_and_drops_constant_neurons(rng):
    rates = rng.normal(5, 2, size=(20, 4))
    rates[:, 2] = 7.0
    trials = rates[:, :, None] + rng.normal(size=(20, 4, 3))
    trials -= trials.mean(axis=2, keepdims=True) - rates[:, :, None]
    resp = Responses(rates, trials, neuron_ids=["a", "b", "c", "d"])
    with pytest.warns(UserWarning, match="constant"):
        z = resp.zscore()
    assert z.neuron_ids.tolist() == ["a", "b", "d"]
    np.testing.assert_allclose(z.rates, stats.zscore(rates[:, [0, 1, 3]], axis=0))
    np.testing.assert_allclose(z.trials.mean(axis=2), z.rates, atol=1e-12)
    assert z.metadata["units"] == "z-score"


def test_noise_ceiling_needs_trials(rng):
    with pytest.raises(DataError, match="no single trials"):
        Responses(rng.normal(size=(5, 2))).noise_ceiling()


def test_save_and_load_round_trip(simulated, tmp_path):
    simulated.metadata["note"] = np.float32(1.5)  # numpy scalars are written as JSON numbers
    path = simulated.save(tmp_path / "pop.npz")
    back = load_responses(path)
    np.testing.assert_array_equal(back.rates, simulated.rates)
    np.testing.assert_array_equal(back.trials, simulated.trials)
    assert back.stimulus_ids.tolist() == simulated.stimulus_ids.tolist()
    assert back.neuron_ids.tolist() == simulated.neuron_ids.tolist()
    for name in ("axes", "baseline", "gain", "slope", "offset", "uses"):
        np.testing.assert_array_equal(getattr(back.tuning, name), getattr(simulated.tuning, name))
    assert back.tuning.kind == "axis"
    assert back.metadata["note"] == 1.5 and back.metadata["source"] == str(path)
    assert back.metadata["origin"] == "faceit.neural.simulate_population"


def test_save_is_atomic_and_checks_its_arguments(simulated, tmp_path):
    with pytest.raises(ConfigError, match=".npz"):
        simulated.save(tmp_path / "pop.dat")
    simulated.metadata["bad"] = object()
    with pytest.raises(ConfigError, match="JSON"):
        simulated.save(tmp_path / "pop.npz")
    assert list(tmp_path.iterdir()) == []  # nothing half-written
    del simulated.metadata["bad"]
    simulated.save(tmp_path / "pop.npz")
    assert [p.name for p in tmp_path.iterdir()] == ["pop.npz"]
    json.loads(str(np.load(tmp_path / "pop.npz")["metadata_json"]))


def test_digit_string_ids_align_with_integer_ids_by_value(rng):
    """Image files 001.png ... (ids "001", ...) find the responses to stimuli 1, ... of a .mat or .csv."""
    resp = Responses(rng.normal(size=(4, 2)), stimulus_ids=[3, 1, 4, 2])
    aligned = resp.align_to(["001", "002", "003"])
    np.testing.assert_array_equal(aligned.rates, resp.rates[[1, 3, 0]])
    as_text = Responses(resp.rates, stimulus_ids=["3", "1", "4", "2"])
    np.testing.assert_array_equal(as_text.align_to([1, 2, 3]).rates, resp.rates[[1, 3, 0]])
    with pytest.raises(DataError, match="not in the responses"):
        resp.align_to(["001", "005"])
    with pytest.raises(DataError, match="same number twice"):
        Responses(resp.rates, stimulus_ids=["1", "01", "2", "3"]).align_to([1, 2])
    with pytest.raises(DataError, match="not in the responses"):  # non-digit strings stay strings
        resp.align_to(["s1", "s2"])


def test_rows_for_pairs_by_id_when_both_sides_name_stimuli_else_by_position(rng):
    from faceit.stimuli import Stimuli

    rates = rng.normal(size=(3, 2))
    named = Responses(rates, stimulus_ids=["b", "c", "a"])
    unnamed = Responses(rates)  # a file without ids: row numbers stand in
    assert named.has_stimulus_ids and not unnamed.has_stimulus_ids
    images = np.zeros((3, 4, 4, 3), np.uint8)
    with_names = Stimuli(images, ids=["a", "b", "c"])
    without = Stimuli(images)
    assert with_names.has_ids and not without.has_ids
    np.testing.assert_array_equal(named.rows_for(with_names).rates, rates[[2, 0, 1]])
    # one side only numbers its rows: by position, under the stimuli's ids
    paired = unnamed.rows_for(with_names)
    np.testing.assert_array_equal(paired.rates, rates)
    assert paired.stimulus_ids.tolist() == ["a", "b", "c"] and paired.has_stimulus_ids
    np.testing.assert_array_equal(paired.subset(stimulus_ids=["c"]).rates, rates[[2]])
    by_row = named.rows_for(without)
    np.testing.assert_array_equal(by_row.rates, rates)
    assert not by_row.has_stimulus_ids
    np.testing.assert_array_equal(named.rows_for([0, 1, 2], named=False).rates, rates)
    with pytest.raises(DataError, match="3 responses for 2 stimuli"):
        unnamed.rows_for(Stimuli(images[:2], ids=["a", "b"]))
    with pytest.raises(DataError, match="3 responses for 2 stimuli"):  # both numbered: no rows dropped either
        unnamed.rows_for(Stimuli(images[:2]))


def test_row_numbers_from_two_sources_pair_by_position(rng, tmp_path):
    """Row numbers of a subset and of responses made on it count differently: rows pair in order."""
    from faceit.stimuli import Stimuli, load_images

    images = rng.integers(0, 255, (6, 16, 16, 3)).astype(np.uint8)
    stimuli = Stimuli(images, factors=rng.uniform(-1, 1, (6, 2)))
    part = stimuli.subset([4, 1, 3])
    assert not part.has_ids
    on_part = simulate_population(part, n_neurons=3, n_trials=2, seed=0)  # numbered 0..2, in part's order
    assert not on_part.has_stimulus_ids
    np.testing.assert_array_equal(on_part.rows_for(part).rates, on_part.rates)
    whole = simulate_population(stimuli, n_neurons=3, n_trials=2, seed=0)
    np.testing.assert_array_equal(whole.subset(stimulus_ids=[4, 1, 3]).rows_for(part).rates, whole.rates[[4, 1, 3]])
    np.testing.assert_array_equal(Responses(whole.rates[[4, 1, 3]]).rows_for(part).rates, whole.rates[[4, 1, 3]])
    # the flag survives files, zscore and copies
    part.save(tmp_path / "part.npz")
    whole.subset(stimulus_ids=[4, 1, 3]).save(tmp_path / "pop.npz")
    back, pop_back = load_images(tmp_path / "part.npz", size=16), load_responses(tmp_path / "pop.npz")
    assert not back.has_ids and not pop_back.has_stimulus_ids and not pop_back.zscore().has_stimulus_ids
    assert not dataclasses.replace(whole, metadata={"units": "Hz"}).has_stimulus_ids
    assert not dataclasses.replace(stimuli, meta={}).has_ids
    assert dataclasses.replace(whole, stimulus_ids=[f"s{i}" for i in range(6)], ids_are_row_numbers=None
                               ).has_stimulus_ids
