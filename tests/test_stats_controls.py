"""Controls (Fig 3b/c) against faceit.compare's public functions and the simulated ground truth."""

import numpy as np
import pytest

from faceit.compare import alignment_score, explained_variance, match_units
from faceit.errors import ConfigError
from faceit.neural import simulate_population
from faceit.stats.controls import mix_responses, mixed_responses_control, neuron_subset_ceiling
from faceit.stats.welch import welch_ttest


@pytest.fixture(scope="module")
def population():
    factors = np.random.default_rng(0).uniform(-1, 1, size=(400, 5))
    return factors, simulate_population(factors, n_neurons=30, tuning="axis", n_trials=4, seed=0, progress=False)


def _zscore(x):
    return (x - x.mean(0)) / x.std(0)


@pytest.mark.parametrize("statistic, reference", [
    ("alignment", lambda u, y: alignment_score(u, y, n_rotations=0).score),
    ("matched_r", lambda u, y: match_units(u, y).mean_abs_r),
    ("explained_variance", lambda u, y: explained_variance(u, y, cv=3).r2.mean()),
])
def test_subset_ceiling_scores_real_neurons_as_units(population, statistic, reference):
    rates = population[1].rates
    options = {"cv": 3} if statistic == "explained_variance" else {}
    ceiling = neuron_subset_ceiling(rates, n_units=5, n_repeats=3, seed=1, statistic=statistic, **options)
    assert ceiling.unit_neurons.shape == (3, 5)
    for used, score in zip(ceiling.unit_neurons, ceiling.scores):
        rest = np.setdiff1d(np.arange(rates.shape[1]), used)
        assert len(set(used)) == 5
        assert score == pytest.approx(reference(rates[:, used], rates[:, rest]), rel=1e-9)
    assert not np.array_equal(ceiling.unit_neurons[0], ceiling.unit_neurons[1])


def test_mixed_responses_control_scores_units_against_mixed_rates(population):
    factors, responses = population
    control = mixed_responses_control(factors, responses, n_repeats=3, seed=2)
    z = _zscore(responses.rates)
    for i, score in enumerate(control.scores):
        assert score == pytest.approx(alignment_score(factors, mix_responses(z, seed=(2, i)), n_rotations=0).score,
                                      rel=1e-9)


def test_mix_responses_is_a_dense_random_mixture(rng):
    rates = rng.standard_normal((50, 6))
    mixed = mix_responses(rates, n_mixed=8, seed=3)
    g, *_ = np.linalg.lstsq(rates, mixed, rcond=None)
    np.testing.assert_allclose(rates @ g, mixed, atol=1e-10)  # linear in the neurons
    assert np.all(np.abs(g) > 1e-6)                            # and dense
    np.testing.assert_array_equal(mixed, mix_responses(rates, n_mixed=8, seed=3))
    assert not np.allclose(mixed, mix_responses(rates, n_mixed=8, seed=4))


def test_ground_truth_ordering_true_factors_reach_the_ceiling_and_mixing_destroys_alignment(population):
    """On an axis-tuned population the true factors align like real neurons do; mixed responses do not."""
    factors, responses = population
    truth = alignment_score(factors, responses, n_rotations=0).score
    ceiling = neuron_subset_ceiling(responses, n_units=5, n_repeats=8, seed=0)
    mixed = mixed_responses_control(factors, responses, n_repeats=8, seed=0)
    assert truth > ceiling.mean > mixed.mean + 0.2
    assert welch_ttest(ceiling.scores, mixed.scores, alternative="greater").p_value < 1e-4


def test_control_errors(population):
    rates = population[1].rates
    with pytest.raises(ConfigError, match="n_units=30 must be smaller than the 30 usable neurons"):
        neuron_subset_ceiling(rates, n_units=30)
    with pytest.raises(ConfigError, match=r"does not take option\(s\) \['cv'\]"):
        neuron_subset_ceiling(rates, n_units=3, cv=3)
    with pytest.raises(ConfigError, match="statistic"):
        mixed_responses_control(population[0], rates, statistic="udr")
