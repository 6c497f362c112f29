"""Split-half noise ceiling against exact enumeration, scipy, and the known noise-free rates."""

import itertools
import warnings

import numpy as np
import pytest
from scipy import stats

import faceit.neural.reliability as nc_module
from faceit.errors import ConfigError, DataError
from faceit.neural import noise_ceiling, simulate_population, spearman_brown, split_half_correlations


def test_spearman_brown_hand_computed():
    assert spearman_brown(0.5) == pytest.approx(2 * 0.5 / 1.5)  # 0.6667
    assert spearman_brown(0.6) == pytest.approx(0.75)
    assert spearman_brown(0.0) == 0.0 and spearman_brown(1.0) == 1.0
    assert spearman_brown(0.5, factor=3) == pytest.approx(0.75)  # 3*0.5 / (1 + 2*0.5)
    np.testing.assert_allclose(spearman_brown(np.array([0.2, -0.2])), [0.4 / 1.2, -0.4 / 0.8])


def all_split_correlations(pairs):
    """Every Pearson r a split of two trials per stimulus can give: pairs float [S, 2] -> [2^S] (scipy)."""
    out = []
    for swap in itertools.product([False, True], repeat=pairs.shape[0]):
        swap = np.array(swap)
        a = np.where(swap, pairs[:, 1], pairs[:, 0])
        b = np.where(swap, pairs[:, 0], pairs[:, 1])
        out.append(stats.pearsonr(a, b).statistic)
    return np.array(out)


def test_every_split_is_a_valid_split_and_splits_are_uniform(rng):
    trials = rng.poisson(5.0, size=(6, 3, 2)).astype(float) + rng.normal(0, 0.01, size=(6, 3, 2))
    r = split_half_correlations(trials, n_splits=3000, seed=1)
    for n in range(3):
        possible = all_split_correlations(trials[:, n, :])
        assert np.isclose(r[:, n, None], possible[None, :], rtol=0, atol=1e-12).any(axis=1).all()
        # each stimulus's two trials go to either half with probability 1/2: mean over splits -> enumeration mean
        assert r[:, n].mean() == pytest.approx(possible.mean(), abs=4 * possible.std() / np.sqrt(3000))


def test_missing_repeats_are_skipped(rng):
    """NaN slots (repeats not recorded) differ per neuron; each split uses the two recorded trials."""
    pairs = rng.normal(10, 3, size=(6, 4, 2))
    trials = np.full((6, 4, 3), np.nan)
    for s in range(6):
        for n in range(4):
            slots = rng.choice(3, size=2, replace=False)
            trials[s, n, slots] = pairs[s, n]
    r = split_half_correlations(trials, n_splits=500, seed=2)
    for n in range(4):
        possible = all_split_correlations(pairs[:, n, :])
        assert np.isclose(r[:, n, None], possible[None, :], atol=1e-12).any(axis=1).all()


def test_ceiling_on_simulated_data_matches_the_noise_free_rates():
    """Reference: reliability of a mean of T Poisson trials, from the true rates lambda [S, N]:
    var_s(lambda) / (var_s(lambda) + mean_s(lambda) / (window * T)); equivalently the squared
    correlation between trial-averaged and true rates."""
    factors = np.random.default_rng(0).uniform(-1, 1, size=(500, 6))
    resp = simulate_population(factors, n_neurons=40, tuning="mixed", n_trials=8, seed=3)
    lam = resp.tuning.rates(factors)
    analytic = lam.var(axis=0) / (lam.var(axis=0) + lam.mean(axis=0) / (0.25 * 8))
    ceiling = noise_ceiling(resp.trials, n_splits=50, seed=0)
    assert np.abs(ceiling - analytic).mean() < 0.02
    assert np.abs(ceiling - analytic).max() < 0.08
    empirical = np.array([stats.pearsonr(resp.rates[:, n], lam[:, n]).statistic ** 2 for n in range(40)])
    assert np.abs(ceiling - empirical).mean() < 0.03
    assert ceiling.min() < 0.8 < ceiling.max()  # the population spans reliable and noisy neurons


def test_extremes(rng):
    signal = np.repeat(rng.normal(size=(40, 1, 1)), 4, axis=2)
    noiseless = signal  # every trial identical: ceiling 1
    pure_noise = rng.normal(size=(40, 1, 4))  # no stimulus dependence: ceiling near 0
    reliable = signal + 0.1 * rng.normal(size=(40, 1, 4))
    ceiling = noise_ceiling(np.concatenate([noiseless, pure_noise, reliable], axis=1), n_splits=200)
    assert ceiling[0] == pytest.approx(1.0)
    assert abs(ceiling[1]) < 0.35
    assert ceiling[2] > 0.9


def test_a_neuron_result_depends_only_on_its_own_trials_and_the_seed(rng, monkeypatch):
    trials = rng.poisson(rng.gamma(2, 3, size=(30, 8, 1)), size=(30, 8, 6)).astype(float)
    trials[rng.random(trials.shape) < 0.15] = np.nan
    trials[:, :, :2] = rng.poisson(3, size=(30, 8, 2))  # at least 2 recorded everywhere
    full = split_half_correlations(trials, n_splits=20, seed=5)
    # same splits whatever the other neurons and the chunking (up to summation order)
    np.testing.assert_allclose(split_half_correlations(trials[:, [6, 2]], n_splits=20, seed=5), full[:, [6, 2]],
                               rtol=1e-12)
    monkeypatch.setattr(nc_module, "_CHUNK_BYTES", 1)  # one split per chunk
    np.testing.assert_allclose(split_half_correlations(trials, n_splits=20, seed=5), full, rtol=1e-12)
    assert not np.array_equal(split_half_correlations(trials, n_splits=20, seed=6), full)


def test_odd_trial_counts_use_equal_halves(rng):
    """With 3 trials one is left out per split: every split r is a correlation of two single trials."""
    trials = rng.normal(size=(4, 1, 3))
    r = split_half_correlations(trials, n_splits=200, seed=0)[:, 0]
    # every choice, per stimulus, of (first-half trial, second-half trial), correlated by scipy
    possible = []
    for combo in itertools.product(itertools.permutations(range(3), 2), repeat=4):
        a = [trials[s, 0, first] for s, (first, _) in enumerate(combo)]
        b = [trials[s, 0, second] for s, (_, second) in enumerate(combo)]
        possible.append(stats.pearsonr(a, b).statistic)
    assert np.isclose(r[:, None], np.array(possible)[None, :], atol=1e-12).any(axis=1).all()


def test_constant_neuron_gets_nan_with_a_warning(rng):
    trials = rng.normal(size=(10, 2, 4))
    trials[:, 1, :] = 3.0
    with pytest.warns(UserWarning, match="identically"):
        ceiling = noise_ceiling(trials, n_splits=5)
    assert np.isfinite(ceiling[0]) and np.isnan(ceiling[1])


@pytest.mark.parametrize("trials, match", [
    (np.ones((10, 2, 1)), "at least 2"),
    (np.ones((2, 2, 4)), "at least 3 stimuli"),
    (np.full((5, 2, 4), np.inf), "inf"),
    (np.ones((5, 2)), "3-D"),
    (np.zeros((0, 2, 4)), "empty"),
])
def test_bad_trials(trials, match):
    with pytest.raises(DataError, match=match):
        noise_ceiling(trials)


def test_bad_n_splits(rng):
    with pytest.raises(ConfigError, match="n_splits"):
        noise_ceiling(rng.normal(size=(5, 2, 4)), n_splits=0)


def test_no_runtime_warnings_on_clean_data(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noise_ceiling(rng.normal(size=(20, 3, 4)), n_splits=10)


def test_float32_trials_give_the_float64_result(rng):
    trials = rng.poisson(rng.gamma(2, 4, size=(50, 6, 1)), size=(50, 6, 6)) / 0.25
    np.testing.assert_allclose(noise_ceiling(trials.astype(np.float32), n_splits=10),
                               noise_ceiling(trials, n_splits=10), rtol=1e-5)


@pytest.mark.parametrize("n_trials", [2, 3, 5])
def test_the_ceiling_is_the_reliability_of_the_mean_over_all_trials(n_trials):
    """Ground truth: signal variance 1 and trial noise variance 2.25 give a T-trial mean whose
    stimulus-driven share of variance is 1 / (1 + 2.25 / T), for odd T as for even."""
    rng = np.random.default_rng(n_trials)
    signal = rng.standard_normal((400, 150))
    trials = signal[:, :, None] + 1.5 * rng.standard_normal((400, 150, n_trials))
    truth = 1 / (1 + 2.25 / n_trials)
    assert noise_ceiling(trials, n_splits=40).mean() == pytest.approx(truth, abs=0.015)
