"""lasso_gram against scikit-learn's Lasso and the lasso's optimality (KKT) conditions."""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from faceit.compare.lasso import ConvergenceWarning, lasso_gram
from faceit.errors import ConfigError, DataError


def _problem(rng, n=150, k=7, t=4):
    x = rng.standard_normal((n, k))
    x[:, 1] += 0.9 * x[:, 0]  # correlated predictors make coordinate descent work for it
    y = x @ rng.standard_normal((k, t)) + rng.standard_normal((n, t))
    return x, y


def _sklearn(x, y, alpha):
    model = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=100_000)
    return model.fit(x, y).coef_.T  # [K, T]


@pytest.mark.parametrize("alpha", [0.001, 0.05, 0.3])
def test_matches_sklearn_lasso(rng, alpha):
    x, y = _problem(rng)
    w = lasso_gram(x.T @ x, x.T @ y, alpha, x.shape[0], yty=(y ** 2).sum(0), tol=1e-12)
    np.testing.assert_allclose(w, _sklearn(x, y, alpha), atol=1e-9)


def test_default_tolerance_is_close_to_sklearn_default(rng):
    x, y = _problem(rng)
    w = lasso_gram(x.T @ x, x.T @ y, 0.05, x.shape[0], yty=(y ** 2).sum(0))
    ref = Lasso(alpha=0.05, fit_intercept=False).fit(x, y).coef_.T
    np.testing.assert_allclose(w, ref, atol=5e-3)


def test_kkt_conditions_hold(rng):
    x, y = _problem(rng, n=300, k=10, t=6)
    alpha, n = 0.08, x.shape[0]
    w = lasso_gram(x.T @ x, x.T @ y, alpha, n, yty=(y ** 2).sum(0), tol=1e-12)
    grad = x.T @ (y - x @ w) / n  # subgradient condition: |grad| <= alpha, = alpha*sign(w) where w != 0
    assert np.all(np.abs(grad) <= alpha + 1e-8)
    active = w != 0
    np.testing.assert_allclose(grad[active], alpha * np.sign(w[active]), atol=1e-8)
    assert (~active).any() and active.any()


def test_alpha_above_max_correlation_gives_zero(rng):
    x, y = _problem(rng)
    alpha_max = np.abs(x.T @ y).max(axis=0) / x.shape[0]  # smallest alpha with an all-zero solution
    w = lasso_gram(x.T @ x, x.T @ y, float(alpha_max.max()) * 1.001, x.shape[0], yty=(y ** 2).sum(0))
    assert not w.any()


def test_batched_gram_and_targets_match_one_by_one(rng):
    problems = [_problem(rng, n=80, k=5, t=3) for _ in range(4)]
    gram = np.stack([x.T @ x for x, _ in problems])
    xty = np.stack([x.T @ y for x, y in problems])
    yty = np.stack([(y ** 2).sum(0) for _, y in problems])
    w = lasso_gram(gram.reshape(2, 2, 5, 5), xty.reshape(2, 2, 5, 3), 0.02, 80, yty=yty.reshape(2, 2, 3), tol=1e-12)
    assert w.shape == (2, 2, 5, 3)
    for b, (x, y) in enumerate(problems):
        np.testing.assert_allclose(w.reshape(4, 5, 3)[b], _sklearn(x, y, 0.02), atol=1e-9)


def test_one_gram_broadcasts_over_a_batch_of_targets(rng):
    x, y = _problem(rng, n=120, k=6, t=2)
    perms = [rng.permutation(120) for _ in range(3)]
    xty = np.stack([x.T @ y[p] for p in perms])  # what a permutation test passes
    w = lasso_gram(x.T @ x, xty, 0.03, 120, yty=(y ** 2).sum(0), tol=1e-12)
    for b, p in enumerate(perms):
        np.testing.assert_allclose(w[b], _sklearn(x, y[p], 0.03), atol=1e-9)


def test_zscored_default_for_yty(rng):
    x, y = _problem(rng)
    y = (y - y.mean(0)) / y.std(0)
    w = lasso_gram(x.T @ x, x.T @ y, 0.05, x.shape[0], tol=1e-12)  # yty defaults to n
    np.testing.assert_allclose(w, _sklearn(x, y, 0.05), atol=1e-9)


def test_zero_predictor_gets_zero_weight(rng):
    x, y = _problem(rng)
    x[:, 3] = 0.0
    w = lasso_gram(x.T @ x, x.T @ y, 0.01, x.shape[0], yty=(y ** 2).sum(0))
    assert not w[3].any()
    np.testing.assert_allclose(w, _sklearn(x, y, 0.01), atol=1e-3)


def test_non_convergence_warns(rng):
    x, y = _problem(rng)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        lasso_gram(x.T @ x, x.T @ y, 1e-4, x.shape[0], yty=(y ** 2).sum(0), max_iter=1, tol=1e-12)


def test_n_iter_is_returned(rng):
    x, y = _problem(rng)
    _, n_iter = lasso_gram(x.T @ x, x.T @ y, 0.05, x.shape[0], yty=(y ** 2).sum(0), return_n_iter=True)
    assert n_iter.shape == (y.shape[1],) and np.all(n_iter >= 1)


def test_bad_input_raises_faceit_errors(rng):
    x, y = _problem(rng)
    g, c = x.T @ x, x.T @ y
    with pytest.raises(DataError, match="xty"):
        lasso_gram(g, c[:-1], 0.1, 150)
    with pytest.raises(DataError, match="gram"):
        lasso_gram(g[:, :-1], c, 0.1, 150)
    with pytest.raises(DataError, match="batch"):
        lasso_gram(np.stack([g, g]), np.stack([c, c, c]), 0.1, 150)
    with pytest.raises(ConfigError, match="alpha"):
        lasso_gram(g, c, -1.0, 150)
    with pytest.raises(ConfigError, match="n_samples"):
        lasso_gram(g, c, 0.1, 0)
    bad = c.copy()
    bad[0, 0] = np.nan
    with pytest.raises(DataError, match="xty"):
        lasso_gram(g, bad, 0.1, 150)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lasso_gram(g, c[:, :0], 0.1, 150).shape == (7, 0)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 40), k=st.integers(1, 6), alpha=st.floats(1e-3, 1.0), seed=st.integers(0, 2 ** 31))
def test_property_matches_sklearn_on_random_problems(n, k, alpha, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, k)) * rng.uniform(0.1, 3, k)
    y = rng.standard_normal((n, 2))
    w = lasso_gram(x.T @ x, x.T @ y, alpha, n, yty=(y ** 2).sum(0), tol=1e-12, max_iter=100_000)
    np.testing.assert_allclose(w, _sklearn(x, y, alpha), atol=1e-7)
