"""UDR (design 4.5): the aggregation formulas by hand and against disentanglement_lib's form, the
batched similarities against serial sklearn Lasso / scipy Spearman, and its invariances."""

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.linear_model import Lasso

from faceit.compare import udr, udr_from_similarity
from faceit.compare.alignment import random_rotations
from faceit.compare.udr import _lasso_similarity, _standardised_models
from faceit.errors import ConfigError, DataError
from faceit.representation import Representation


def _dlib_relative_strength(corr):
    """disentanglement_lib's relative_strength_disentanglement, verbatim up to names."""
    with np.errstate(divide="ignore", invalid="ignore"):
        score_x = np.nanmean(np.nan_to_num(np.power(np.max(corr, axis=0), 2) / np.sum(corr, axis=0), 0))
        score_y = np.nanmean(np.nan_to_num(np.power(np.max(corr, axis=1), 2) / np.sum(corr, axis=1), 0))
    return (score_x + score_y) / 2


def test_hand_built_similarities():
    assert udr_from_similarity(np.eye(3)) == pytest.approx(1.0)
    r = np.array([[1.0, 0.0, 0.0],
                  [0.0, 1.0, 1.0]])
    # rows: 1/1, 1/2 -> 1.5; columns: 1, 1, 1 -> 3. paper: 4.5 / (2 + 3); dlib: (1.5/2 + 3/3) / 2
    assert udr_from_similarity(r, "paper") == pytest.approx(0.9)
    assert udr_from_similarity(r, "dlib") == pytest.approx(0.875)
    r2 = np.array([[0.8, 0.2], [0.0, 0.5]])
    # rows: .64/1 + .25/.5 = 1.14; columns: .64/.8 + .25/.7
    assert udr_from_similarity(r2, "paper") == pytest.approx((1.14 + 0.8 + 0.25 / 0.7) / 4)
    uniform = np.full((4, 4), 0.3)
    assert udr_from_similarity(uniform, "paper") == pytest.approx(0.3 ** 2 / (4 * 0.3))  # not scale-free


def test_dlib_aggregate_matches_disentanglement_lib(rng):
    for _ in range(5):
        r = np.abs(rng.standard_normal((5, 7))) * (rng.random((5, 7)) < 0.6)
        assert udr_from_similarity(r, "dlib") == pytest.approx(_dlib_relative_strength(r))


def test_masks_remove_units_and_empty_sides_score_zero(rng):
    r = np.abs(rng.standard_normal((4, 5)))
    rows, cols = np.array([1, 0, 1, 1], bool), np.array([0, 1, 1, 0, 1], bool)
    masked = udr_from_similarity(r, "paper", row_mask=rows, col_mask=cols)
    assert masked == pytest.approx(udr_from_similarity(r[rows][:, cols], "paper"))
    assert udr_from_similarity(r, row_mask=np.zeros(4, bool), col_mask=np.zeros(5, bool)) == 0.0
    batched = udr_from_similarity(np.stack([r, r[::-1]]), "dlib")
    assert batched.shape == (2,)
    with pytest.raises(DataError, match="non-negative"):
        udr_from_similarity(-r)


def _models(rng, n=1500, k=5, n_models=4, noise=0.1):
    base = rng.standard_normal((n, k))
    return base, [base + noise * rng.standard_normal((n, k)) for _ in range(n_models)]


def test_lasso_similarity_matches_serial_sklearn_pairs(rng):
    _, models = _models(rng, n=400, k=4, n_models=3, noise=0.8)
    models[1] = models[1][:, :3]  # models of different sizes are padded internally
    z, _, _, _ = _standardised_models(models)
    sim = _lasso_similarity(z, 0.1, 10_000, 1e-12)
    for a in range(3):
        for b in range(3):
            za = (models[a] - models[a].mean(0)) / models[a].std(0)
            zb = (models[b] - models[b].mean(0)) / models[b].std(0)
            ref = np.abs(Lasso(alpha=0.1, tol=1e-12, max_iter=100_000).fit(za, zb).coef_.T)
            np.testing.assert_allclose(sim[a, b, :za.shape[1], :zb.shape[1]], ref, atol=1e-9)


def test_spearman_pairs_match_scipy(rng):
    _, models = _models(rng, n=300, k=3, n_models=2, noise=1.0)
    res = udr(models, "spearman", "dlib")
    rho = np.abs(spearmanr(models[0], models[1])[0][:3, 3:])
    assert res.pair_scores[0, 1] == pytest.approx(_dlib_relative_strength(rho))
    assert res.pair_scores[1, 0] == pytest.approx(_dlib_relative_strength(rho.T))


@pytest.mark.parametrize("method", ["lasso", "spearman"])
@pytest.mark.parametrize("aggregate", ["paper", "dlib"])
def test_permuting_and_sign_flipping_units_leaves_udr_unchanged(rng, method, aggregate):
    _, models = _models(rng, n=800, noise=0.6)
    before = udr(models, method, aggregate, tol=1e-12)
    models[2] = models[2][:, [3, 0, 4, 1, 2]] * np.array([-1, 1, -1, -1, 1])
    after = udr(models, method, aggregate, tol=1e-12)
    np.testing.assert_allclose(after.scores, before.scores, atol=1e-8)
    np.testing.assert_allclose(after.pair_scores, before.pair_scores, atol=1e-8)


@pytest.mark.parametrize("method", ["lasso", "spearman"])
def test_noisy_copies_score_high_and_rotations_score_low(rng, method):
    base, copies = _models(rng)
    assert np.all(udr(copies, method).scores > 0.85)
    rotated = [base @ q for q in random_rotations(5, 4, seed=2)]
    assert np.all(udr(rotated, method).scores < 0.4)


def test_orthonormal_copies_give_one_minus_alpha_with_lasso(rng):
    q, _ = np.linalg.qr(rng.standard_normal((500, 4)))
    q = (q - q.mean(0)) / q.std(0)
    # units with identity correlation: the lasso weight of the copy is soft-threshold(1, alpha)
    models = [q, q[:, ::-1], -q]
    res = udr(models, "lasso", alpha=0.1, tol=1e-12)
    np.testing.assert_allclose(res.scores, 0.9, atol=1e-2)


def test_kl_filter_and_model_without_informative_units(rng):
    base, copies = _models(rng, n=600, k=4, n_models=3)
    reps = [Representation(c, kl=np.array([1.0, 1.0, 1.0, 0.0])) for c in copies]
    filtered = udr(reps, "spearman")
    ref = udr([c[:, :3] for c in copies], "spearman")  # unit 3 takes no part in the Spearman similarity
    np.testing.assert_allclose(filtered.pair_scores, ref.pair_scores)
    np.testing.assert_array_equal(filtered.n_informative, [3, 3, 3])
    reps.append(Representation(copies[0], kl=np.zeros(4), name="collapsed"))
    with pytest.warns(UserWarning, match="collapsed"):
        res = udr(reps, "lasso")
    assert np.all(res.pair_scores[3, :3] == 0) and np.all(res.pair_scores[:3, 3] == 0)
    assert res.scores[3] == 0.0 and res.names[3] == "collapsed"


def test_bad_input(rng):
    a = rng.standard_normal((50, 3))
    with pytest.raises(DataError, match="1 model"):
        udr([a])
    with pytest.raises(DataError, match=r"representations\[1\].*49 samples"):
        udr([a, a[:-1]])
    with pytest.raises(DataError, match="sequence"):
        udr(a)
    with pytest.raises(ConfigError, match="method"):
        udr([a, a], method="pearson")
    with pytest.raises(ConfigError, match="aggregate"):
        udr([a, a], aggregate="mean")
    bad = a.copy()
    bad[0, 0] = np.inf
    with pytest.raises(DataError, match=r"representations\[1\]"):
        udr([a, bad])
