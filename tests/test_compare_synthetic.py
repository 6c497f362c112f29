"""The comparisons on faceit's simulated population, whose tuning is known (design 5)."""

import numpy as np
import pytest

from faceit.compare import alignment_score, explained_variance, match_units

neural = pytest.importorskip("faceit.neural")


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    factors = rng.uniform(-1, 1, (600, 5))
    axis = neural.simulate_population(factors, n_neurons=40, tuning="axis", n_trials=6, seed=1)
    mixed = neural.simulate_population(factors, n_neurons=40, tuning="mixed", n_trials=6, seed=1)
    return factors, axis, mixed


def test_true_factors_align_with_axis_neurons_not_mixed_ones(world):
    factors, axis, mixed = world
    on_axis = alignment_score(factors, axis, n_rotations=5)
    on_mixed = alignment_score(factors, mixed, n_rotations=0)
    assert on_axis.score > on_axis.rotation_control + 0.5  # measured 0.87 against 0.14
    assert on_axis.score > on_mixed.score + 0.5  # mixed: 0.14
    # each neuron's largest weight sits on the factor its tuning axis uses
    tuned = np.abs(axis.tuning.axes[on_axis.neuron_index]).argmax(axis=1)
    assert np.mean(np.abs(on_axis.weights).argmax(axis=0) == tuned) > 0.9


def test_matching_pairs_each_factor_with_a_neuron_tuned_to_it(world):
    factors, axis, _ = world
    m = match_units(factors, axis)
    tuned = np.abs(axis.tuning.axes).argmax(axis=1)
    np.testing.assert_array_equal(tuned[m.neuron_index], m.unit_index)


def test_explained_variance_is_corrected_by_the_noise_ceiling(world):
    factors, axis, _ = world
    ev = explained_variance(factors, axis, cv=4)
    np.testing.assert_allclose(ev.noise_ceiling, axis.noise_ceiling()[ev.neuron_index])
    ok = ev.noise_ceiling > 0.3
    assert ok.sum() > 20
    np.testing.assert_allclose(ev.r2_ceiling_corrected[ok], ev.r2[ok] / ev.noise_ceiling[ok])
    # the factors carry all of the stimulus-driven signal, so the corrected R^2 nears 1 (measured 0.92,
    # uncorrected 0.73); what remains is the ramp's nonlinearity, which a linear read-out misses
    assert np.median(ev.r2_ceiling_corrected[ok]) > 0.8 > np.median(ev.r2[ok])
