"""Reconstruction from matched neurons (Fig 7) against ground truth and independent references."""

import numpy as np
import pytest
import scipy.stats

from faceit.compare import Matching, match_units
from faceit.decode import compare_models, decode_units, reconstruct, save_reconstruction_grid
from faceit.errors import DataError
from faceit.neural import Responses, simulate_population
from faceit.representation import Representation


class FactorModel:
    """The synthetic world's true factors used as a model's units (the ideal disentangled model)."""

    has_decoder = False
    name = "factors"

    def __init__(self, factors_by_id):
        self.factors_by_id = factors_by_id
        self.seen = []

    def transform(self, stimuli):
        self.seen.append(stimuli["ids"])
        return Representation(np.array([self.factors_by_id[i] for i in stimuli["ids"]]), name=self.name)


def world(tuning, n_train=600, n_test=62, n_factors=6, seed=0):
    rng = np.random.default_rng(seed)
    factors = rng.uniform(-1, 1, size=(n_train + n_test, n_factors))
    ids = [f"s{i}" for i in range(n_train + n_test)]
    responses = simulate_population(factors, n_neurons=159, tuning=tuning, n_trials=8, seed=seed, keep_trials=False)
    model = FactorModel(dict(zip(ids, factors)))
    train = {"ids": ids[:n_train]}
    test = {"ids": ids[n_train:]}
    return model, train, test, responses.rates[:n_train], responses.rates[n_train:]


def test_decode_units_matches_per_pair_polyfit(rng):
    units = rng.normal(size=(200, 4))
    rates = rng.normal(size=(200, 9)) + units @ rng.normal(size=(4, 9))
    rates_test = rng.normal(size=(30, 9))
    matching = Matching(np.array([0, 2, 3]), np.array([5, 1, 7]), np.zeros(3))
    decoded = decode_units(units, rates, rates_test, matching=matching)
    assert decoded.shape == (30, 4)
    for u, n in zip(matching.unit_index, matching.neuron_index):
        slope, intercept = np.polyfit(rates[:, n], units[:, u], 1)
        np.testing.assert_allclose(decoded[:, u], intercept + slope * rates_test[:, n], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(decoded[:, 1], 0.0)  # no neuron: the prior mean


def test_default_matching_is_match_units_on_training_data(rng):
    units = rng.normal(size=(150, 3))
    rates = np.hstack([units + 0.3 * rng.normal(size=(150, 3)), rng.normal(size=(150, 5))])
    expected = match_units(units, rates)
    rates_test = rng.normal(size=(20, 8))
    np.testing.assert_allclose(decode_units(units, rates, rates_test),
                               decode_units(units, rates, rates_test, matching=expected))


def test_identification_far_above_chance_on_axis_population_and_drops_on_mixed():
    scores = {}
    for tuning in ("axis", "mixed"):
        model, train, test, rates_train, rates_test = world(tuning)
        rec = reconstruct(model, train, rates_train, test, rates_test)
        assert rec.n_neurons == 6 and rec.images is None and rec.pixel_mse is None
        scores[tuning] = rec
    chance = 1 / 62
    assert scores["axis"].identification_accuracy > 10 * chance
    assert scores["mixed"].identification_accuracy < scores["axis"].identification_accuracy
    assert scores["axis"].median_cosine_distance < scores["mixed"].median_cosine_distance


def test_only_matched_neurons_are_used_and_test_data_never_enter_a_fit():
    model, train, test, rates_train, rates_test = world("axis", seed=3)
    rec = reconstruct(model, train, rates_train, test, rates_test)
    unmatched = np.setdiff1d(np.arange(159), rec.matching.neuron_index)
    changed = rates_test.copy()
    changed[:, unmatched] = np.random.default_rng(9).normal(size=(62, unmatched.size)) * 100
    again = reconstruct(model, train, rates_train, test, changed)
    np.testing.assert_array_equal(again.decoded, rec.decoded)
    # The matching and regressions depend on the training stimuli alone: scrambling the
    # held-out responses entirely leaves the matching as it was.
    scrambled = reconstruct(model, train, rates_train, test, rates_test[::-1])
    np.testing.assert_array_equal(scrambled.matching.neuron_index, rec.matching.neuron_index)
    assert rec.matching.neuron_index.tolist() == match_units(
        model.transform(train).units, rates_train).neuron_index.tolist()


def test_pca_renders_reconstructions_and_grid(tmp_path):
    from faceit.models.baselines import PCA
    from faceit.stimuli import synthetic_faces

    stim = synthetic_faces(300, seed=1, size=32)
    responses = simulate_population(stim.factors, n_neurons=40, tuning="axis", n_trials=4, seed=1)
    train_idx, test_idx = np.arange(260), np.arange(260, 300)
    images = stim.images
    pca = PCA(n_units=8).fit(images[train_idx])
    rec = reconstruct(pca, images[train_idx], responses.rates[train_idx], images[test_idx],
                      responses.rates[test_idx], name="pca")
    assert rec.images.shape == (40, 32, 32, 3)
    mean_face_mse = np.mean((images[test_idx] / 255.0 - images[train_idx].mean(axis=0) / 255.0) ** 2)
    assert 0 < rec.pixel_mse < 2 * mean_face_mse
    path = save_reconstruction_grid(tmp_path / "fig7.png", images[test_idx], {"pca": rec}, n_show=5)
    assert path.stat().st_size > 1000


def test_compare_models_tests_classes_over_their_models(rng):
    """Each model is one observation (design 4.7): Welch over models, one-sample t against a one-model class."""
    beta_vae, ae, pca = rng.normal(0.5, 0.1, 12), rng.normal(0.6, 0.1, 4), 0.58
    rows = {r["model"]: r for r in compare_models({"beta_vae": beta_vae, "ae": ae, "pca": [pca]}, "beta_vae")}
    welch = scipy.stats.ttest_ind(beta_vae, ae, equal_var=False, alternative="less")
    assert rows["ae"]["test"] == "welch" and (rows["ae"]["n_reference"], rows["ae"]["n_model"]) == (12, 4)
    assert rows["ae"]["t"] == pytest.approx(welch.statistic) and rows["ae"]["p_value"] == pytest.approx(welch.pvalue)
    one = scipy.stats.ttest_1samp(beta_vae, pca, alternative="less")
    assert rows["pca"]["test"] == "one-sample" and rows["pca"]["df"] == 11
    assert rows["pca"]["t"] == pytest.approx(one.statistic) and rows["pca"]["p_value"] == pytest.approx(one.pvalue)
    assert rows["pca"]["model_median"] == pca and rows["pca"]["reference_median"] == pytest.approx(np.median(beta_vae))
    with pytest.raises(DataError, match="at least 2"):
        compare_models({"beta_vae": [0.4], "ae": ae}, "beta_vae")


def test_compare_models_takes_reconstructions_by_their_median():
    recs = []
    for seed in (0, 1):
        model, train, test, r_train, r_test = world("axis", seed=seed)
        recs.append(reconstruct(model, train, r_train, test, r_test))
    model, train, test, r_train, r_test = world("axis")
    worse = reconstruct(model, train, r_train, test, r_test[::-1])  # responses to other faces
    (row,) = compare_models({"a": recs, "b": worse}, "a")
    assert row["reference_median"] == pytest.approx(np.median([r.median_cosine_distance for r in recs]))
    assert row["model_median"] == worse.median_cosine_distance and row["p_value"] < 0.05


class IdStimuli(dict):
    """Stimuli with ids, as a Stimuli object carries them."""

    def __init__(self, ids):
        super().__init__(ids=ids)
        self.ids = np.asarray(ids)


def test_responses_are_lined_up_with_the_stimuli_by_id():
    """Responses (with ids) in any row order, even all stimuli at once, give the by-position result."""
    model, train, test, r_train, r_test = world("axis")
    by_position = reconstruct(model, train, r_train, test, r_test)
    rng = np.random.default_rng(1)
    ids = train["ids"] + test["ids"]
    order = rng.permutation(len(ids))
    every = Responses(np.vstack([r_train, r_test])[order], stimulus_ids=np.asarray(ids)[order])
    by_id = reconstruct(model, IdStimuli(train["ids"]), every, IdStimuli(test["ids"]), every)
    np.testing.assert_allclose(by_id.cosine_distance, by_position.cosine_distance)
    assert by_id.identification_accuracy == by_position.identification_accuracy
    missing_one = every.subset(stimulus_ids=ids[:-1])
    with pytest.raises(DataError, match="rates_test.*pass rates_test.rates"):
        reconstruct(model, IdStimuli(train["ids"]), missing_one, IdStimuli(test["ids"]), missing_one)


def test_bad_input_names_the_argument(rng):
    with pytest.raises(DataError, match="rates_train"):
        decode_units(rng.normal(size=(10, 2)), rng.normal(size=(9, 3)), rng.normal(size=(4, 3)))
    with pytest.raises(DataError, match="matching"):
        decode_units(rng.normal(size=(10, 2)), rng.normal(size=(10, 3)), rng.normal(size=(4, 3)),
                     matching=Matching(np.array([0]), np.array([5]), np.zeros(1)))
    model, train, test, rates_train, rates_test = world("axis", n_train=50, n_test=5)
    with pytest.raises(DataError, match="rates_test"):
        reconstruct(model, train, rates_train, test, rates_test[:, :10])
