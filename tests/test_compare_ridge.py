"""Cross-validated ridge (design 4.3) against sklearn's Ridge / RidgeCV and a brute-force GCV."""

import numpy as np
import pytest
from scipy.linalg import hadamard
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import r2_score

from faceit.compare import RidgeFolds, explained_variance
from faceit.errors import ConfigError, DataError

ALPHAS = np.logspace(-2, 4, 13)


def _world(rng, n=150, k=6, t=5, noise=1.0):
    x = rng.standard_normal((n, k))
    y = x @ (rng.standard_normal((k, t)) * 0.4) + noise * rng.standard_normal((n, t)) + 3.0
    return x, y


def _brute_force_gcv(x, y, alphas):
    """GCV(alpha) = n RSS / (n - tr H)^2 with the explicit hat matrix of ridge with intercept."""
    n = x.shape[0]
    xc = x - x.mean(0)
    out = []
    for a in alphas:
        h = np.full((n, n), 1.0 / n) + xc @ np.linalg.solve(xc.T @ xc + a * np.eye(x.shape[1]), xc.T)
        resid = y - h @ y
        out.append(n * (resid ** 2).sum(0) / (n - np.trace(h)) ** 2)
    return np.array(out)  # [A, T]


def _cv_predictions(x, y, folds, alpha):
    pred = np.zeros_like(y)
    for f in range(folds.n_folds):
        train, test = folds.fold != f, folds.fold == f
        for t in range(y.shape[1]):
            pred[test, t] = Ridge(alpha=alpha[f, t]).fit(x[train], y[train, t]).predict(x[test])
    return pred


@pytest.mark.parametrize("shape", [(150, 6), (40, 12)])  # second: fewer training stimuli than units
def test_r2_matches_sklearn_ridge_with_the_chosen_alphas(rng, shape):
    x, y = _world(rng, n=shape[0], k=shape[1])
    folds = RidgeFolds.fit(x, cv=5, alphas=ALPHAS, seed=3)
    res = folds.score(folds.products(y))
    pred = _cv_predictions(x, y, folds, res.alpha)
    np.testing.assert_allclose(res.r2, r2_score(y, pred, multioutput="raw_values"), atol=1e-9)
    for f in range(folds.n_folds):
        test = folds.fold == f
        np.testing.assert_allclose(res.sse[f], ((y[test] - pred[test]) ** 2).sum(0), rtol=1e-9)


def test_alpha_minimises_brute_force_gcv(rng):
    x, y = _world(rng, n=90, k=8, t=6, noise=2.0)
    folds = RidgeFolds.fit(x, cv=3, alphas=ALPHAS, seed=0)
    res = folds.score(folds.products(y))
    for f in range(3):
        train = folds.fold != f
        gcv = _brute_force_gcv(x[train], y[train], ALPHAS)
        np.testing.assert_array_equal(res.alpha[f], ALPHAS[np.argmin(gcv, axis=0)])


def test_alpha_equals_ridgecv_when_leverages_are_equal(rng):
    # Hadamard columns: every training stimulus has the same leverage, so sklearn's leave-one-out
    # criterion (RidgeCV, gcv_mode="svd") and GCV select the same alpha for every target.
    n_train, k = 64, 6
    x_train = hadamard(n_train)[:, 1:k + 1].astype(float)
    x = np.vstack([x_train, rng.standard_normal((16, k))])
    y = x @ rng.standard_normal((k, 8)) * rng.uniform(0.05, 0.5, 8) + rng.standard_normal((80, 8))
    labels = np.r_[np.ones(n_train, int), np.zeros(16, int)]  # fold 0 = the 16 extra stimuli
    folds = RidgeFolds.fit(x, cv=labels, alphas=ALPHAS)
    res = folds.score(folds.products(y))
    ref = RidgeCV(alphas=ALPHAS, gcv_mode="svd", alpha_per_target=True).fit(x_train, y[:n_train])
    np.testing.assert_array_equal(res.alpha[0], ref.alpha_)
    assert len(set(ref.alpha_)) > 1  # the test is not trivial: targets pick different alphas


def test_batched_products_match_one_by_one(rng):
    x, y = _world(rng, n=60, k=4, t=3)
    folds = RidgeFolds.fit(x, cv=4, alphas=ALPHAS)
    perms = np.stack([rng.permutation(60) for _ in range(5)])
    batched = folds.score(folds.products(y[perms]))  # y [5, 60, 3]
    assert batched.r2.shape == (5, 3) and batched.alpha.shape == (5, 4, 3)
    for b, p in enumerate(perms):
        single = folds.score(folds.products(y[p]))
        np.testing.assert_allclose(batched.r2[b], single.r2, atol=1e-12)
        np.testing.assert_array_equal(batched.alpha[b], single.alpha)


def test_explained_variance_recovers_the_signal_fraction(rng):
    n, k = 2000, 5
    units = rng.standard_normal((n, k))
    signal = units @ np.array([[1.0, 0, 0], [0, 1, 0], [0, 0, 0.5], [0, 0, 0.5], [0, 0, 0]])
    noise_sd = np.array([1.0, 0.5, 2.0])
    rates = signal + noise_sd * rng.standard_normal((n, 3))
    true_r2 = signal.var(0) / (signal.var(0) + noise_sd ** 2)
    res = explained_variance(units, rates)
    np.testing.assert_allclose(res.r2, true_r2, atol=0.03)
    assert res.alpha.shape == (5, 3) and res.r2_ceiling_corrected is None


def test_noise_ceiling_from_argument_and_from_trials(rng):
    x, y = _world(rng)
    ceiling = np.array([0.5, 0.8, 0.0, np.nan, 1.0])
    with pytest.warns(UserWarning, match="2 neuron"):
        res = explained_variance(x, y, noise_ceiling=ceiling)
    np.testing.assert_allclose(res.r2_ceiling_corrected[[0, 1, 4]], res.r2[[0, 1, 4]] / ceiling[[0, 1, 4]])
    assert np.isnan(res.r2_ceiling_corrected[[2, 3]]).all()

    class WithTrials:
        def __init__(self, rates):
            self.rates = rates
            self.trials = np.repeat(rates[:, :, None], 4, axis=2) + rng.standard_normal(rates.shape + (4,))

        def noise_ceiling(self):
            return np.full(self.rates.shape[1], 0.5)

    res2 = explained_variance(x, WithTrials(y))
    np.testing.assert_allclose(res2.r2_ceiling_corrected, res2.r2 / 0.5)
    with pytest.raises(DataError, match="noise_ceiling has 2"):
        explained_variance(x, y, noise_ceiling=[0.5, 0.5])


def test_noise_ceiling_through_faceit_neural(rng):
    import faceit.neural as neural
    x, y = _world(rng, n=80, k=3, t=4)
    trials = y[:, :, None] + rng.standard_normal((80, 4, 6))

    class Plain:  # trials but no noise_ceiling method: explained_variance asks faceit.neural
        rates = trials.mean(axis=2)

    Plain.trials = trials
    res = explained_variance(x, Plain())
    np.testing.assert_allclose(res.noise_ceiling, neural.noise_ceiling(trials))


def test_bad_input(rng):
    x, y = _world(rng, n=30, k=3, t=2)
    with pytest.raises(ConfigError, match="cv=31"):
        explained_variance(x, y, cv=31)
    with pytest.raises(ConfigError, match="only one fold"):
        RidgeFolds.fit(x, cv=np.zeros(30, int))
    with pytest.raises(ConfigError, match="alphas"):
        explained_variance(x, y, alphas=[1.0, -1.0])
    with pytest.raises(DataError, match="rates has 29"):
        explained_variance(x, y[:-1])
    folds = RidgeFolds.fit(x, cv=3)
    with pytest.raises(DataError, match="y: expected"):
        folds.products(y[:-1])


def test_a_stimulus_recorded_once_leaves_r2_uncorrected_with_a_warning(rng):
    from faceit.neural import Responses

    units = rng.standard_normal((60, 3))
    trials = (units @ rng.standard_normal((3, 4)))[:, :, None] + rng.standard_normal((60, 4, 4))
    trials[5, :, 1:] = np.nan  # one stimulus shown once
    responses = Responses.from_trials(trials)
    with pytest.warns(UserWarning, match="no noise ceiling"):
        ev = explained_variance(units, responses)
    assert ev.r2_ceiling_corrected is None and ev.noise_ceiling is None
    np.testing.assert_allclose(ev.r2, explained_variance(units, responses.rates).r2)
