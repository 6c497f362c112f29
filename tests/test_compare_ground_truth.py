"""MIG, DCI, SAP (design 4.8) on identity, permuted, duplicated, mixed and constant representations."""

import numpy as np
import pytest
from scipy.stats import entropy
from sklearn.metrics import mutual_info_score

from faceit.compare import dci, mig, mig_per_factor, sap
from faceit.compare.ground_truth import discretize, mutual_information
from faceit.errors import ConfigError, DataError


@pytest.fixture
def factors(rng):
    return rng.uniform(-1, 1, (1200, 4))


def test_mutual_information_matches_sklearn(rng):
    a = discretize(rng.standard_normal((500, 3)), 20)
    b = discretize(np.c_[a[:, 0] + rng.integers(0, 3, 500), rng.random(500)], 20)
    mi = mutual_information(a, b, 20)
    for i in range(3):
        for j in range(2):
            assert mi[i, j] == pytest.approx(mutual_info_score(a[:, i], b[:, j]), abs=1e-12)


def test_discretize_matches_dlib_histogram_rule(rng):
    x = rng.standard_normal((300, 2))
    for c in range(2):
        dlib = np.digitize(x[:, c], np.histogram(x[:, c], 20)[1][:-1]) - 1  # dlib codes start at 1
        np.testing.assert_array_equal(discretize(x, 20)[:, c], dlib)


def test_mig_identity_permuted_duplicated_mixed(factors):
    ident = mig(factors, factors)
    assert ident > 0.85  # < 1 only by the plug-in bias of MI with other factors
    assert mig(factors[:, [2, 0, 3, 1]] * [1, -1, 2, 1], factors) == pytest.approx(ident)
    assert mig(np.hstack([factors, factors]), factors) == pytest.approx(0.0, abs=1e-12)
    c, s = np.cos(np.pi / 4), np.sin(np.pi / 4)
    mixed = factors.copy()
    mixed[:, :2] = factors[:, :2] @ np.array([[c, -s], [s, c]])
    assert mig(mixed, factors) < ident - 0.3


def test_mig_per_factor_matches_sklearn_terms_and_averages_to_mig(factors, rng):
    units = np.c_[factors[:, 0], factors[:, 1], factors[:, 1] + 0.05 * rng.standard_normal(1200),
                  factors[:, 2] + factors[:, 3], rng.standard_normal(1200)]
    uc, fc = discretize(units, 20), discretize(factors, 20)
    mi = np.array([[mutual_info_score(uc[:, k], fc[:, j]) for j in range(4)] for k in range(5)])
    top = np.sort(mi, axis=0)
    h = np.array([mutual_info_score(fc[:, j], fc[:, j]) for j in range(4)])
    per = mig_per_factor(units, factors)
    np.testing.assert_allclose(per, (top[-1] - top[-2]) / h, atol=1e-12)
    assert per[0] > 0.85                      # held by one unit alone
    assert per[1] < 0.4 * per[0]              # shared by two units
    assert np.all(per[2:] < 0.4 * per[0])     # both in one mixed unit
    assert mig(units, factors) == pytest.approx(per.mean(), abs=1e-15)


def test_mig_warnings_point_at_the_caller(factors):
    units = np.c_[factors[:, :2], np.full(1200, 3.0)]
    for metric in (mig, mig_per_factor):
        with pytest.warns(UserWarning, match="1 constant unit") as record:
            metric(units, factors)
        assert record[0].filename == __file__


def test_sap_matches_squared_correlations(factors, rng):
    units = factors @ rng.standard_normal((4, 3)) + rng.standard_normal((1200, 3))
    s = np.corrcoef(units.T, factors.T)[:3, 3:] ** 2
    top = np.sort(s, axis=0)
    assert sap(units, factors) == pytest.approx(np.mean(top[-1] - top[-2]))


def test_sap_identity_permuted_duplicated(factors):
    assert sap(factors, factors) > 0.99
    assert sap(factors[:, ::-1], factors) == pytest.approx(sap(factors, factors))
    assert sap(np.hstack([factors, factors]), factors) == pytest.approx(0.0, abs=1e-12)


def test_constant_representation_scores_zero(factors):
    const = np.full((1200, 3), 2.5)
    with pytest.warns(UserWarning, match="3 constant unit"):
        assert mig(const, factors) == 0.0
    with pytest.warns(UserWarning, match="constant"):
        assert sap(const, factors) == 0.0
    with pytest.warns(UserWarning, match="constant"):
        res = dci(const, factors, "lasso")
    assert res.disentanglement == 0.0 and res.completeness == 0.0
    assert abs(res.informativeness) < 0.05


def _dci_reference(imp):
    """Eastwood & Williams' D and C written out with scipy.stats.entropy (disentanglement_lib's form)."""
    k, f = imp.shape
    d_unit = 1 - entropy(imp.T + 1e-300, base=f)
    c_factor = 1 - entropy(imp + 1e-300, base=k)
    return (d_unit * imp.sum(1) / imp.sum()).sum(), (c_factor * imp.sum(0) / imp.sum()).sum()


@pytest.mark.parametrize("importance", ["lasso", "random_forest"])
def test_dci_identity_and_permuted(factors, importance):
    kw = dict(n_estimators=10) if importance == "random_forest" else {}
    res = dci(factors[:600], factors[:600], importance, **kw)
    assert res.disentanglement > 0.9 and res.completeness > 0.9 and res.informativeness > 0.95
    ref_d, ref_c = _dci_reference(res.importance)
    assert res.disentanglement == pytest.approx(ref_d, abs=1e-9)
    assert res.completeness == pytest.approx(ref_c, abs=1e-9)
    perm = dci(factors[:600, [3, 1, 0, 2]], factors[:600], importance, **kw)
    assert perm.disentanglement == pytest.approx(res.disentanglement, abs=0.02)
    assert perm.completeness == pytest.approx(res.completeness, abs=0.02)


def test_dci_duplicated_units_lose_completeness_not_disentanglement(factors, rng):
    dup = np.hstack([factors, factors + 0.01 * rng.standard_normal(factors.shape)])[:600]
    res = dci(dup, factors[:600], "random_forest", n_estimators=10)
    assert res.disentanglement > 0.9
    # importance shared between two copies: completeness near 1 - log 2 / log 8 = 2/3
    assert 0.55 < res.completeness < 0.85


def test_dci_mixed_units_lose_disentanglement(factors, rng):
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    res = dci(factors @ q, factors, "lasso")
    assert res.disentanglement < 0.6 and res.informativeness > 0.95


def test_bad_input(factors):
    with pytest.raises(DataError, match="factors has 1199"):
        mig(factors, factors[:-1])
    const_factor = factors.copy()
    const_factor[:, 1] = 0.0
    with pytest.raises(DataError, match=r"factors: column\(s\) \[1\]"):
        sap(factors, const_factor)
    with pytest.raises(ConfigError, match="n_bins"):
        mig(factors, factors, n_bins=1)
    with pytest.raises(ConfigError, match="importance"):
        dci(factors, factors, importance="gbt")
    with pytest.raises(ConfigError, match="test_fraction"):
        dci(factors, factors, test_fraction=1.5)


def test_collapsed_representation_scores_zero(factors):
    from faceit.representation import Representation

    rep = Representation(factors, kl=np.zeros(4), name="collapsed")
    with pytest.warns(UserWarning, match="'collapsed' has no informative unit"):
        assert mig(rep, factors) == 0.0
    with pytest.warns(UserWarning, match="no informative unit"):
        assert dci(rep, factors, "lasso").completeness == 0.0
    informative_only = Representation(np.c_[factors, np.zeros(1200)], kl=np.r_[np.ones(4), 0.0])
    assert mig(informative_only, factors) == pytest.approx(mig(factors, factors))


def test_dead_units_leave_dci_as_it_is(factors, rng):
    """A constant unit is no column of the representation: adding some changes neither D nor C."""
    units = factors[:600, :3] @ np.eye(3) + 0.3 * rng.standard_normal((600, 3))
    live = dci(units, factors[:600], "lasso")
    with pytest.warns(UserWarning, match="7 constant unit"):
        padded = dci(np.hstack([units, np.full((600, 7), 1.5)]), factors[:600], "lasso")
    assert padded.completeness == pytest.approx(live.completeness, abs=1e-12)
    assert padded.disentanglement == pytest.approx(live.disentanglement, abs=1e-12)
    ref_d, ref_c = _dci_reference(live.importance)
    assert live.completeness == pytest.approx(ref_c, abs=1e-9)


def test_integer_factors_are_codes_as_they_are(rng):
    """Chen et al. and disentanglement_lib take discrete factors' own codes: 32 positions stay 32, not 20 bins."""
    codes = np.c_[rng.integers(0, 32, 3000), rng.integers(0, 40, 3000)]
    units = codes + rng.normal(0, 2.0, codes.shape)
    u = discretize(units, 20)
    expected = []
    for j in range(2):
        mi = [mutual_info_score(u[:, i], codes[:, j]) for i in range(2)]
        expected.append((max(mi) - min(mi)) / mutual_info_score(codes[:, j], codes[:, j]))
    np.testing.assert_allclose(mig_per_factor(units, codes), expected, atol=1e-12)


def test_dci_refuses_a_factor_constant_over_the_held_out_samples(rng):
    order = np.random.default_rng(0).permutation(40)  # dci's split for seed 0: the first 12 are held out
    rare = np.zeros(40)
    rare[order[12:14]] = 1.0  # a rare binary code whose two ones both land in the fitting split
    units = rng.standard_normal((40, 2))
    factors = np.c_[rng.uniform(-1, 1, 40), rare]
    with pytest.raises(DataError, match=r"column\(s\) \[1\] are constant over the 12 held-out"):
        dci(units, factors, "lasso")
