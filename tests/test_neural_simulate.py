"""simulate_population and Tuning against the ground truth they are built from."""

import numpy as np
import pytest
from scipy import stats

from faceit.errors import ConfigError, DataError
from faceit.neural import Tuning, draw_tuning, simulate_population

N_FACTORS = 6


@pytest.fixture(scope="module")
def factors():
    return np.random.default_rng(7).uniform(-1, 1, size=(1500, N_FACTORS))


def abs_spearman(x, y):
    """|Spearman rho| between the columns of x [S, A] and y [S, B] -> [A, B]."""
    rho = stats.spearmanr(x, y).statistic
    return np.abs(rho[: x.shape[1], x.shape[1]:])


def test_axis_neurons_follow_their_own_factor(factors):
    resp = simulate_population(factors, n_neurons=60, tuning="axis", n_trials=10, seed=1)
    t = resp.tuning
    assert t.kind == "axis" and resp.tuning.axes.shape == (60, N_FACTORS)
    assert (t.uses.sum(axis=1) == 1).all()
    # every factor gets its share of neurons, both signs occur
    assert np.bincount(t.primary_factor, minlength=N_FACTORS).tolist() == [10] * N_FACTORS
    assert set(np.sign(t.axes[t.uses]).tolist()) == {-1.0, 1.0}
    # the noisy trial-averaged rates correlate best with each neuron's own factor
    rho = abs_spearman(factors, resp.rates)  # [F, N]
    assert (rho.argmax(axis=0) == t.primary_factor).all()
    # and the sign of the dependence is the sign of the axis
    r = np.array([stats.pearsonr(factors[:, f], resp.rates[:, n]).statistic for n, f in enumerate(t.primary_factor)])
    assert (np.sign(r) == t.axes[np.arange(60), t.primary_factor]).all()


def test_sparse_neurons_depend_on_exactly_their_two_or_three_factors(factors):
    t = simulate_population(factors, n_neurons=80, tuning="sparse", seed=2).tuning
    assert set(t.uses.sum(axis=1).tolist()) == {2, 3}
    np.testing.assert_allclose(np.linalg.norm(t.axes, axis=1), 1.0)
    assert (t.axes[~t.uses] == 0).all()
    rho = abs_spearman(factors, t.rates(factors)).T  # [N, F], noise-free rates
    assert ((rho > 0.15) == t.uses).all()


def test_mixed_neurons_have_no_dominant_factor(factors):
    def best_factor_share(resp):
        r2 = np.corrcoef(factors.T, resp.rates.T)[:N_FACTORS, N_FACTORS:] ** 2
        return r2.max(axis=0) / r2.sum(axis=0)

    mixed = simulate_population(factors, n_neurons=100, tuning="mixed", seed=3)
    axis = simulate_population(factors, n_neurons=100, tuning="axis", seed=3)
    assert mixed.tuning.uses.all()
    share_mixed, share_axis = best_factor_share(mixed), best_factor_share(axis)
    assert np.median(share_mixed) < 0.6 and (share_mixed > 0.9).mean() < 0.1
    assert (share_axis > 0.9).all()


def test_ramp_formula_and_flat_orthogonal_to_axis(rng):
    t = draw_tuning("mixed", 20, 5, seed=4)
    f = rng.uniform(-1, 1, size=(50, 5))
    # independent evaluation of baseline + gain * softplus(slope * (axis.f - offset)), neuron by neuron
    for n in range(20):
        drive = t.slope[n] * (f @ t.axes[n] - t.offset[n])
        np.testing.assert_allclose(t.rates(f)[:, n], t.baseline[n] + t.gain[n] * np.log1p(np.exp(drive)), rtol=1e-12)
    # moving a stimulus orthogonally to a neuron's axis leaves its rate unchanged (Chang & Tsao 2017)
    n = 3
    v = rng.standard_normal((50, 5))
    v -= np.outer(v @ t.axes[n], t.axes[n])
    np.testing.assert_allclose(t.rates(f + v)[:, n], t.rates(f)[:, n], rtol=1e-10)
    # ...and moving along it raises the rate monotonically
    steps = np.linspace(-1, 1, 21)[:, None] * t.axes[n]
    assert (np.diff(t.rates(steps)[:, n]) > 0).all()


def test_counts_are_poisson_in_a_quarter_second(rng):
    f = rng.uniform(-1, 1, size=(12, N_FACTORS))
    resp = simulate_population(f, n_neurons=15, n_trials=400, seed=5)
    counts = resp.trials.astype(np.float64) * 0.25
    np.testing.assert_array_equal(counts, np.round(counts))  # whole spikes in each 0.25 s window
    expected = resp.tuning.rates(f) * 0.25  # mean count per window
    # trial means agree with the true mean count (z-scores of the mean ~ N(0, 1))
    z = (counts.mean(axis=2) - expected) / np.sqrt(expected / 400)
    assert abs(z.mean()) < 0.2 and 0.7 < (z ** 2).mean() < 1.3
    # variance equals mean (Fano factor 1)
    fano = counts.var(axis=2, ddof=1) / expected
    assert abs(fano.mean() - 1) < 0.03
    np.testing.assert_allclose(resp.rates, counts.mean(axis=2) / 0.25)


def test_rates_span_a_few_to_about_a_hundred_spikes_per_second_heavy_tailed(factors):
    resp = simulate_population(factors, n_neurons=159, tuning="axis", seed=6, keep_trials=False)
    true = resp.tuning.rates(factors)
    peak, mean = true.max(axis=0), true.mean(axis=0)
    assert 1.0 <= np.median(true.min(axis=0)) <= 10  # baselines of a few spikes/s
    assert 15 <= np.median(peak) <= 50 and np.percentile(peak, 95) <= 150
    assert mean.max() / np.median(mean) > 3  # heavy tail across neurons
    assert stats.skew(mean) > 1
    assert stats.skew(np.log(resp.tuning.gain)) < stats.skew(resp.tuning.gain)  # lognormal gains


def test_noisy_rates_track_the_noise_free_rates(factors):
    resp = simulate_population(factors[:400], n_neurons=30, tuning="sparse", n_trials=10, seed=8)
    true = resp.tuning.rates(factors[:400])
    r = [stats.pearsonr(true[:, n], resp.rates[:, n]).statistic for n in range(30)]
    assert np.median(r) > 0.85


def test_seed_determines_everything(factors):
    a = simulate_population(factors[:100], n_neurons=20, n_trials=3, seed=11)
    b = simulate_population(factors[:100], n_neurons=20, n_trials=3, seed=11)
    c = simulate_population(factors[:100], n_neurons=20, n_trials=3, seed=12)
    np.testing.assert_array_equal(a.trials, b.trials)
    np.testing.assert_array_equal(a.tuning.axes, b.tuning.axes)
    assert not np.array_equal(a.rates, c.rates)
    # the same seed gives the same neurons on other stimuli
    d = simulate_population(factors[100:300], n_neurons=20, n_trials=3, seed=11, keep_trials=False)
    np.testing.assert_array_equal(d.tuning.gain, a.tuning.gain)
    assert d.trials is None


def test_rates_without_trials_have_the_distribution_of_a_trial_mean():
    """keep_trials=False draws the trial sum directly: rates ~ Poisson(T * lambda * w) / (T * w)."""
    one_face = np.tile(np.random.default_rng(0).uniform(-1, 1, size=(1, N_FACTORS)), (4000, 1))
    resp = simulate_population(one_face, n_neurons=5, n_trials=4, seed=3, keep_trials=False)
    lam = resp.tuning.rates(one_face[:1])[0]
    assert resp.trials is None
    se = np.sqrt(lam / (4 * 0.25) / 4000)
    assert (np.abs(resp.rates.mean(axis=0) - lam) < 4 * se).all()
    np.testing.assert_allclose(resp.rates.var(axis=0), lam / (4 * 0.25), rtol=0.1)
    np.testing.assert_array_equal(resp.rates * 4 * 0.25, np.round(resp.rates * 4 * 0.25))  # whole spike counts


def test_reusing_a_tuning_simulates_the_same_neurons_on_new_stimuli(factors):
    train = simulate_population(factors[:300], n_neurons=12, tuning="mixed", seed=0)
    test = simulate_population(factors[300:600], tuning=train.tuning, n_trials=50, seed=1)
    assert test.tuning is train.tuning and test.n_neurons == 12
    true = train.tuning.rates(factors[300:600])
    assert np.abs(test.rates - true).mean() < 0.1 * true.mean()
    with pytest.raises(ConfigError, match="n_neurons"):
        simulate_population(factors[:10], n_neurons=5, tuning=train.tuning)
    # the same seed on other stimuli gives independent trial noise, even when the stimuli are
    # almost the same (a shared random stream would give almost the same counts)
    a = simulate_population(factors[:700], tuning=train.tuning, n_trials=1, seed=0)
    b = simulate_population(factors[:700] + 1e-9, tuning=train.tuning, n_trials=1, seed=0)
    noise_a = a.rates - train.tuning.rates(factors[:700])
    noise_b = b.rates - train.tuning.rates(factors[:700] + 1e-9)
    assert abs(np.corrcoef(noise_a.ravel(), noise_b.ravel())[0, 1]) < 0.05
    with pytest.raises(DataError, match="columns"):
        simulate_population(factors[:10, :3], tuning=train.tuning)


def test_ids_and_metadata(factors):
    ids = [f"face{i:03d}" for i in range(20)]
    resp = simulate_population(factors[:20], n_neurons=4, stimulus_ids=ids, seed=0)
    assert resp.stimulus_ids.tolist() == ids
    assert resp.metadata["units"] == "spikes/s" and resp.metadata["tuning"] == "axis"


def test_stimuli_object_gives_factors_and_ids(factors):
    class Stimuli:  # the fields simulate_population reads from faceit.stimuli.Stimuli
        def __init__(self, factors):
            self.factors, self.ids = factors, np.array([f"{i:06d}" for i in range(len(factors))])

    stim = Stimuli(factors[:15])
    resp = simulate_population(stim, n_neurons=5, seed=2)
    assert resp.stimulus_ids.tolist() == stim.ids.tolist()
    np.testing.assert_array_equal(resp.rates, simulate_population(factors[:15], n_neurons=5, seed=2).rates)
    stim.factors = None
    with pytest.raises(DataError, match="no known factors"):
        simulate_population(stim)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"tuning": "dense"}, ConfigError, "tuning"),
    ({"n_neurons": 0}, ConfigError, "n_neurons"),
    ({"n_trials": 0}, ConfigError, "n_trials"),
    ({"window_s": 0}, ConfigError, "window_s"),
])
def test_bad_arguments(factors, kwargs, error, match):
    with pytest.raises(error, match=match):
        simulate_population(factors[:10], **kwargs)


def test_bad_factors():
    with pytest.raises(DataError, match="factors"):
        simulate_population(np.array([[0.1, np.nan]]))
    with pytest.raises(DataError, match="factors"):
        simulate_population(np.zeros(5))
    with pytest.raises(ConfigError, match="sparse"):
        simulate_population(np.zeros((5, 1)), tuning="sparse")


def test_tuning_validates_its_arrays():
    t = draw_tuning("axis", 4, 3, seed=0)
    with pytest.raises(DataError, match="gain"):
        Tuning("axis", t.axes, t.baseline, t.gain[:3], t.slope, t.offset, t.uses)
    with pytest.raises(DataError, match="kind"):
        Tuning("dense", t.axes, t.baseline, t.gain, t.slope, t.offset, t.uses)


def test_with_the_synthetic_face_world():
    stimuli = pytest.importorskip("faceit.stimuli")
    if not hasattr(stimuli, "synthetic_faces"):
        pytest.skip("faceit.stimuli.synthetic_faces is not available")
    faces = stimuli.synthetic_faces(30, seed=0, size=32)
    resp = simulate_population(faces, n_neurons=faces.factors.shape[1] * 2, seed=0)
    assert resp.stimulus_ids.tolist() == faces.ids.tolist()
    reordered = resp.align_to(faces.ids[::-1])
    np.testing.assert_array_equal(reordered.rates, resp.rates[::-1])


def test_axis_neurons_left_over_go_to_factors_drawn_at_random():
    from faceit.neural import draw_tuning

    counts = [np.count_nonzero(draw_tuning("axis", 159, 8, seed=s).axes, axis=0) for s in range(12)]
    for c in counts:
        assert sorted(c.tolist()) == [19] + [20] * 7  # dealt in turn: 19 each, 7 left over to 7 factors
    assert len({int(np.argmin(c)) for c in counts}) > 2  # which factor gets one fewer is drawn
    covered = [frozenset(np.flatnonzero(draw_tuning("axis", 5, 8, seed=s).axes.any(axis=0)).tolist())
               for s in range(12)]
    assert all(len(c) == 5 for c in covered) and len(set(covered)) > 3
