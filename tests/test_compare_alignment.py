"""Alignment score (design 4.1) against hand-computed values, scipy's entropy and sklearn's Lasso."""

import numpy as np
import pytest
from scipy.stats import entropy
from sklearn.linear_model import Lasso

from faceit.compare import alignment_from_weights, alignment_score, rotation_control
from faceit.compare.alignment import random_rotations
from faceit.errors import ConfigError, DataError
from faceit.representation import Representation


def _reference_score(w, method):
    """Design 4.1 written out neuron by neuron with scipy.stats.entropy."""
    r = np.abs(w)
    k = r.shape[0]
    totals = r.sum(0)
    d = np.zeros(r.shape[1])
    for i in np.flatnonzero(totals):
        p = r[:, i] / totals[i]
        d[i] = 1 - entropy(p) / np.log(k) if method == "entropy" else p.max()
    return (totals / totals.sum() * d).sum(), d


def test_hand_built_weights():
    w = np.array([[1.0, 0.5, 0.0, 2.0],
                  [0.0, -0.5, 0.0, 2.0],
                  [0.0, 0.0, 0.0, 2.0],
                  [0.0, 0.0, 0.0, 2.0]])
    score, d, rho = alignment_from_weights(w, "entropy", return_rho=True)
    # neuron 0: one unit -> 1; neuron 1: two equal units -> 1 - log 2 / log 4 = 0.5; neuron 2: no weight;
    # neuron 3: uniform -> 0. rho = (1, 1, 0, 8) / 10.
    np.testing.assert_allclose(d, [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(rho, [0.1, 0.1, 0.0, 0.8])
    assert score == pytest.approx(0.1 * 1 + 0.1 * 0.5)
    score_max, d_max = alignment_from_weights(w, "max_fraction")
    np.testing.assert_allclose(d_max, [1.0, 0.5, 0.0, 0.25])
    assert score_max == pytest.approx(0.1 + 0.05 + 0.2)


@pytest.mark.parametrize("method", ["entropy", "max_fraction"])
def test_batched_matches_reference(rng, method):
    w = rng.standard_normal((3, 2, 6, 9)) * (rng.random((3, 2, 6, 9)) < 0.5)
    w[0, 0, :, 2] = 0.0
    score, d = alignment_from_weights(w, method)
    assert score.shape == (3, 2) and d.shape == (3, 2, 9)
    for idx in np.ndindex(3, 2):
        ref_score, ref_d = _reference_score(w[idx], method)
        assert score[idx] == pytest.approx(ref_score)
        np.testing.assert_allclose(d[idx], ref_d, atol=1e-12)


def test_single_unit_scores_one_and_all_zero_scores_zero():
    assert alignment_from_weights(np.array([[0.3, -1.0]]))[0] == 1.0
    assert alignment_from_weights(np.zeros((4, 3)))[0] == 0.0


def _axis_world(rng, n=400, k=5, m=12, noise=0.3):
    units = rng.standard_normal((n, k))
    owner = np.arange(m) % k
    rates = units[:, owner] * rng.uniform(0.5, 2, m) + 10 + noise * rng.standard_normal((n, m))
    return units, rates, owner


def test_weights_match_sklearn_and_score_matches_reference(rng):
    units, rates, _ = _axis_world(rng)
    res = alignment_score(units, rates, alpha=0.05, n_rotations=0, tol=1e-12)
    zu = (units - units.mean(0)) / units.std(0)
    zr = (rates - rates.mean(0)) / rates.std(0)
    ref_w = Lasso(alpha=0.05, tol=1e-12, max_iter=100_000).fit(zu, zr).coef_.T
    np.testing.assert_allclose(res.weights, ref_w, atol=1e-9)
    ref_score, ref_d = _reference_score(ref_w, "entropy")
    assert res.score == pytest.approx(ref_score, abs=1e-9)
    np.testing.assert_allclose(res.per_neuron, ref_d, atol=1e-9)
    assert res.rho.sum() == pytest.approx(1.0)
    assert res.rotation_control is None


def test_axis_aligned_neurons_beat_rotation_control_and_mixed_neurons(rng):
    units, rates, owner = _axis_world(rng)
    aligned = alignment_score(units, rates, n_rotations=8, seed=1)
    assert aligned.score > 0.8
    assert aligned.rotation_control < aligned.score - 0.3
    assert aligned.rotation_scores.shape == (8,)
    assert np.all(np.abs(aligned.weights).argmax(axis=0) == owner)
    mixed = alignment_score(units, rates @ rng.standard_normal((12, 12)), n_rotations=0)
    assert mixed.score < aligned.score - 0.3


def test_rotation_control_equals_rotating_the_units_explicitly(rng):
    units, rates, _ = _axis_world(rng, n=300, k=4, m=6)
    scores = rotation_control(units, rates, n_rotations=3, seed=7, tol=1e-12)
    zu = (units - units.mean(0)) / units.std(0)
    for q, s in zip(random_rotations(4, 3, seed=7), scores):
        explicit = alignment_score(zu @ q, rates, n_rotations=0, tol=1e-12)  # re-z-scored inside
        assert s == pytest.approx(explicit.score, abs=1e-8)
    with_field = alignment_score(units, rates, n_rotations=3, seed=7, tol=1e-12)
    assert with_field.rotation_control == pytest.approx(scores.mean())


def test_random_rotations_are_orthogonal():
    q = random_rotations(6, 4, seed=0)
    np.testing.assert_allclose(q @ np.swapaxes(q, 1, 2), np.broadcast_to(np.eye(6), (4, 6, 6)), atol=1e-12)


def test_representation_uses_informative_units_and_responses_like_rates(rng):
    units, rates, _ = _axis_world(rng, n=200, k=4, m=5)
    noise_unit = rng.standard_normal((200, 1))
    rep = Representation(np.hstack([units[:, :2], noise_unit, units[:, 2:]]), kl=np.array([1, 1, 0.001, 1, 1.0]))

    class Responses:  # anything with .rates works
        pass

    resp = Responses()
    resp.rates = rates
    res = alignment_score(rep, resp, n_rotations=0)
    np.testing.assert_array_equal(res.unit_index, [0, 1, 3, 4])
    direct = alignment_score(units, rates, n_rotations=0)
    assert res.score == pytest.approx(direct.score)


def test_constant_columns_are_dropped_with_a_warning(rng):
    units, rates, _ = _axis_world(rng, n=200, k=3, m=4)
    rates[:, 2] = 5.0
    with pytest.warns(UserWarning, match="rates: dropped 1 constant"):
        res = alignment_score(units, rates, n_rotations=0)
    np.testing.assert_array_equal(res.neuron_index, [0, 1, 3])
    assert res.weights.shape == (3, 3)


def test_bad_input(rng):
    units, rates, _ = _axis_world(rng, n=50, k=3, m=4)
    with pytest.raises(DataError, match="rates has 49"):
        alignment_score(units, rates[:-1])
    bad = rates.copy()
    bad[3, 1] = np.nan
    with pytest.raises(DataError, match="rates: contains nan"):
        alignment_score(units, bad)
    with pytest.raises(DataError, match="fewer than its 5 units"):
        alignment_score(rng.standard_normal((4, 5)), rates[:4])
    with pytest.raises(ConfigError, match="method"):
        alignment_score(units, rates, method="gini")
    with pytest.raises(ConfigError, match="alpha"):
        alignment_score(units, rates, alpha=0)
    with pytest.raises(DataError, match="no informative unit"):
        alignment_score(Representation(units, kl=np.zeros(3)), rates)
