"""Supervised disentanglement metrics against known generative factors (design 4.8; synthetic data).

    mig(units, factors)  Mutual Information Gap (Chen et al. 2018)
    dci(units, factors)  Disentanglement, Completeness, Informativeness (Eastwood & Williams 2018)
    sap(units, factors)  Separated Attribute Predictability (Kumar et al. 2018)

units: [N, K] array or Representation (informative units); factors: [N, F], continuous, or
discrete codes (an all-integer column of at most 256 levels): MIG uses such codes as they are, as Chen et al. and
disentanglement_lib do, and bins continuous columns; SAP and DCI's informativeness treat every
factor as continuous (r^2 and R^2; Kumar et al. score categorical factors by classification
accuracy instead). Constant units carry no information: they score 0 everywhere and leave DCI's
completeness as it is, with a warning; a Representation without informative units (a collapsed
model) scores 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._validation import as_matrix, check_choice, check_positive_int, check_same_rows
from ..errors import ConfigError, DataError
from ..representation import Representation
from ._inputs import unit_matrix
from .alignment import alignment_from_weights
from .lasso import lasso_gram

IMPORTANCES = ("random_forest", "lasso")


def _inputs(units, factors, *, min_rows: int = 2, stacklevel: int = 3):
    """Validated (units [N, K], factors [N, F], varying units [K]); warnings point ``stacklevel`` frames up."""
    f = as_matrix(factors, "factors")
    if isinstance(units, Representation) and units.n_informative == 0:  # a collapsed model scores 0
        warnings.warn(f"units: representation {units.name!r} has no informative unit and scores 0",
                      stacklevel=stacklevel)
        u = np.zeros((units.units.shape[0], 1))
        check_same_rows(u, "units", f, "factors")
        return u, f, np.zeros(1, bool)
    u, _ = unit_matrix(units)
    check_same_rows(u, "units", f, "factors")
    if u.shape[0] < min_rows:
        raise DataError(f"units: need at least {min_rows} samples, got {u.shape[0]}")
    f_std = f.std(axis=0)
    if np.any(f_std == 0):
        raise DataError(f"factors: column(s) {np.flatnonzero(f_std == 0).tolist()} are constant; a ground-truth "
                        "factor must vary over the samples")
    u_std = u.std(axis=0)
    constant = u_std <= 1e-12 * np.maximum(np.abs(u.mean(axis=0)), 1.0)
    if constant.any():
        warnings.warn(f"units: {int(constant.sum())} constant unit(s) {np.flatnonzero(constant)[:10].tolist()} "
                      "carry no information and score 0", stacklevel=stacklevel)
    return u, f, ~constant


def _top_gap(scores: np.ndarray) -> np.ndarray:
    """Per column of scores [K, F]: largest minus second largest (the second is 0 when K = 1)."""
    top = np.sort(scores, axis=0)[::-1]
    return top[0] - (top[1] if top.shape[0] > 1 else 0.0)


def discretize(x: np.ndarray, n_bins: int) -> np.ndarray:
    """Equal-width bins per column of x [N, C] -> int codes [N, C] in 0..n_bins-1 (dlib's rule)."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    width = np.where(hi > lo, (hi - lo) / n_bins, 1.0)
    return np.clip(((x - lo) / width).astype(np.int64), 0, n_bins - 1)


def mutual_information(a_codes: np.ndarray, b_codes: np.ndarray, n_bins: int) -> np.ndarray:
    """Plug-in mutual information in nats [C_a, C_b] between the code columns of a [N, C_a], b [N, C_b]."""
    n = a_codes.shape[0]
    one_hot = lambda codes: np.eye(n_bins)[codes].reshape(n, -1)  # noqa: E731  [N, C * n_bins]
    joint = (one_hot(a_codes).T @ one_hot(b_codes)).reshape(a_codes.shape[1], n_bins, b_codes.shape[1], n_bins)
    joint = joint.transpose(0, 2, 1, 3) / n                                 # [C_a, C_b, bins, bins]
    pa = joint.sum(axis=3, keepdims=True)
    pb = joint.sum(axis=2, keepdims=True)
    ratio = np.divide(joint, pa * pb, out=np.ones_like(joint), where=joint > 0)
    return (joint * np.log(ratio)).sum(axis=(2, 3))


#: integer factors with up to this many levels are used as codes; more are binned like continuous ones
MAX_CODE_LEVELS = 256


def factor_codes(f: np.ndarray, n_bins: int) -> np.ndarray:
    """Discrete codes [N, F] of the factors: an all-integer column with at most MAX_CODE_LEVELS
    levels by its own levels (0..L-1), any other column in ``n_bins`` equal-width bins."""
    codes = discretize(f, n_bins)
    for j in np.flatnonzero((f == np.round(f)).all(axis=0)):
        levels, inverse = np.unique(f[:, j], return_inverse=True)
        if levels.size <= MAX_CODE_LEVELS:
            codes[:, j] = inverse
    return codes


def _mig_terms(units, factors, n_bins) -> np.ndarray:
    n_bins = check_positive_int(n_bins, "n_bins", minimum=2)
    u, f, varying = _inputs(units, factors, stacklevel=4)  # warnings point at the caller of mig / mig_per_factor
    fc = factor_codes(f, n_bins)
    width = max(n_bins, int(fc.max()) + 1)  # the one-hot width: bins, or a factor's levels where more
    mi = np.maximum(mutual_information(discretize(u, n_bins), fc, width), 0.0)  # [K, F]; >= 0 up to rounding
    mi[~varying] = 0.0
    entropy = np.diagonal(mutual_information(fc, fc, width))               # H(v_k) = I(v_k; v_k)
    return _top_gap(mi) / entropy


def mig(units, factors, n_bins: int = 20) -> float:
    """Mutual Information Gap: mean over factors of (largest - second largest MI with a unit) / H(factor).

    Units and continuous factors are discretised into ``n_bins`` equal-width bins (20 by default;
    integer factors keep their own levels); MI and entropy in nats from the plug-in estimate. 1 = each factor captured by exactly one unit.
    :func:`mig_per_factor` gives the terms of the mean.
    """
    return float(np.mean(_mig_terms(units, factors, n_bins)))


def mig_per_factor(units, factors, n_bins: int = 20) -> np.ndarray:
    """MIG of each factor [F]: (largest - second largest MI with a unit) / H(factor), in [0, 1].

    Says which factors a representation captures: a factor that no unit encodes scores about 0,
    one shared equally by two units too, one held by a single unit up to 1. Estimated as in
    :func:`mig`, whose value is the mean of this array.
    """
    return _mig_terms(units, factors, n_bins)


def sap(units, factors) -> float:
    """Separated Attribute Predictability for continuous factors: S_jk = r^2(unit j, factor k);
    mean over factors of the gap between the two largest S_jk (constant units: S = 0)."""
    u, f, varying = _inputs(units, factors)
    uz = np.zeros_like(u)
    uz[:, varying] = (u[:, varying] - u[:, varying].mean(0)) / u[:, varying].std(0)
    fz = (f - f.mean(0)) / f.std(0)
    score = (uz.T @ fz / u.shape[0]) ** 2
    return float(np.mean(_top_gap(score)))


@dataclass(frozen=True)
class DCIResult:
    """disentanglement, completeness: importance-weighted, in [0, 1]; informativeness: mean held-out
    R^2 of the factors from all units (per_factor_informativeness [F]); importance [K, F]."""

    disentanglement: float
    completeness: float
    informativeness: float
    per_factor_informativeness: np.ndarray
    importance: np.ndarray


def _r2(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return 1.0 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)


def dci(units, factors, importance: str = "random_forest", *, test_fraction: float = 0.3, alpha: float = 0.01,
        n_estimators: int = 50, seed=0) -> DCIResult:
    """DCI from an importance matrix R [K, F] of units for predicting each factor.

    importance: "random_forest" (impurity importances of one sklearn RandomForestRegressor per
    factor, nonlinear) or "lasso" (|weights| of a lasso on z-scored data with ``alpha``; fast, but
    of two duplicated units it keeps one). Fitted on a random (1 - test_fraction) of the samples;
    informativeness is the held-out R^2. Disentanglement: per unit 1 - H_F(R_j./sum) weighted by the
    unit's share of importance; completeness: per factor 1 - H_K(R_.k/sum) weighted likewise.
    """
    check_choice(importance, "importance", IMPORTANCES)
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, (int, float)) or not 0 < test_fraction < 1:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
    u, f, varying = _inputs(units, factors, min_rows=4)
    n = u.shape[0]
    order = np.random.default_rng(check_positive_int(seed, "seed", minimum=0)).permutation(n)
    n_test = min(max(2, int(round(test_fraction * n))), n - 2)
    test, train = order[:n_test], order[n_test:]
    flat = np.flatnonzero(f[test].std(axis=0) == 0)
    if flat.size:
        raise DataError(f"factors: column(s) {flat.tolist()} are constant over the {n_test} held-out samples, so "
                        "informativeness (R^2) is undefined; use more samples or another seed")
    k, n_factors = u.shape[1], f.shape[1]
    imp = np.zeros((k, n_factors))
    pred = np.tile(f[train].mean(0), (n_test, 1))
    if varying.any():
        x = u[:, varying]
        if importance == "lasso":
            mu, sd = x[train].mean(0), x[train].std(0)
            sd = np.where(sd > 0, sd, 1.0)
            fm, fs = f[train].mean(0), f[train].std(0)
            xz, fz = (x - mu) / sd, (f - fm) / np.where(fs > 0, fs, 1.0)
            w = lasso_gram(xz[train].T @ xz[train], xz[train].T @ fz[train], alpha, train.size,
                           yty=(fz[train] ** 2).sum(0))
            imp[varying] = np.abs(w)
            pred = (xz[test] @ w) * fs + fm
        else:
            from sklearn.ensemble import RandomForestRegressor
            for j in range(n_factors):
                forest = RandomForestRegressor(n_estimators=check_positive_int(n_estimators, "n_estimators"),
                                               random_state=np.random.default_rng([seed, j]).integers(2 ** 31),
                                               n_jobs=None)
                forest.fit(x[train], f[train, j])
                imp[varying, j] = forest.feature_importances_
                pred[:, j] = forest.predict(x[test])
    per_factor = _r2(f[test], pred)
    if n_factors > 1:
        disent = float(alignment_from_weights(imp.T, "entropy")[0])   # distributions over factors, per unit
    else:
        disent = 1.0 if imp.any() else 0.0
    # over the varying units only, per factor: a dead unit is no column of the representation
    live = imp[varying]
    if not imp.any():
        complete = 0.0
    elif live.shape[0] == 1:
        complete = 1.0
    else:
        complete = float(alignment_from_weights(live, "entropy")[0])
    return DCIResult(disent, complete, float(per_factor.mean()), per_factor, imp)
