"""The synthetic face world: determinism, shapes, factor recoverability, smoothness, salience, landmarks."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeCV
from sklearn.metrics import r2_score

from faceit.errors import ConfigError, DataError
from faceit.stimuli import (IDENTITY, VIEW, WORLDS, Stimuli, factor_salience, factor_sweeps, factor_variance, get_world,
                            hair_colour, render_faces, synthetic_faces, synthetic_identities)
from faceit.stimuli._draw import Canvas, capsule_distance, ellipse_distance
from faceit.stimuli.face import EYE, SKIN
from faceit.models.baselines import ICA
from faceit.stimuli.reference import render_faces_pil
from faceit.compare import mig
from faceit.stimuli import worlds as W


@pytest.mark.parametrize("size", [32, 64, 128])
def test_shapes_and_contract(size):
    s = synthetic_faces(5, seed=3, size=size)
    assert isinstance(s, Stimuli)
    assert s.images.shape == (5, size, size, 3) and s.images.dtype == np.uint8
    assert s.factors.shape == (5, len(s.factor_names)) and len(s.factor_names) >= 6
    assert s.landmarks.shape[0] == 5 and s.landmarks.shape[1] >= 20 and s.landmarks.shape[2] == 2
    assert len(set(s.ids)) == 5
    assert s.meta["world"] == "default"
    assert (s.landmarks >= 0).all() and (s.landmarks <= size - 1).all()


def test_deterministic_for_a_seed_and_different_across_seeds():
    a = synthetic_faces(20, seed=7, size=32)
    b = synthetic_faces(20, seed=7, size=32)
    c = synthetic_faces(20, seed=8, size=32)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.factors, b.factors)
    assert not np.array_equal(a.factors, c.factors)
    assert np.abs(a.images.astype(int) - c.images.astype(int)).mean() > 1


def test_factors_uniform_and_independent():
    s = synthetic_faces(4000, seed=0, size=16, world="rich")
    f = s.factors
    assert f.min() >= -1 and f.max() <= 1
    np.testing.assert_allclose(f.mean(0), 0, atol=0.05)
    np.testing.assert_allclose(f.var(0), 1 / 3, atol=0.03)  # uniform on [-1, 1]
    corr = np.corrcoef(f.T) - np.eye(f.shape[1])
    assert np.abs(corr).max() < 0.06


def test_rendering_does_not_depend_on_batching():
    w = WORLDS["rich"]
    f = w.sample(300, np.random.default_rng(1))
    all_at_once, lm = render_faces(f, size=32, world="rich")
    one_by_one = [render_faces(f[i:i + 1], size=32, world="rich") for i in (0, 137, 299)]
    for (img, l1), i in zip(one_by_one, (0, 137, 299)):
        np.testing.assert_array_equal(img[0], all_at_once[i])
        np.testing.assert_allclose(l1[0], lm[i])


def test_threads_do_not_change_the_result():
    f = WORLDS["default"].sample(700, np.random.default_rng(4))  # several chunks
    one = render_faces(f, size=32, n_threads=1)
    two = render_faces(f, size=32, n_threads=3)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_each_factor_is_recoverable_from_pixels_of_held_out_faces(world):
    train = synthetic_faces(700, seed=1, size=32, world=world)
    test = synthetic_faces(300, seed=2, size=32, world=world)
    x_train = train.as_float().reshape(len(train), -1)
    x_test = test.as_float().reshape(len(test), -1)
    probe = RidgeCV(alphas=np.logspace(-2, 3, 6)).fit(x_train, train.factors)
    r2 = r2_score(test.factors, probe.predict(x_test), multioutput="raw_values")
    assert r2.min() >= 0.8, dict(zip(train.factor_names, r2.round(3)))


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_a_one_factor_sweep_moves_the_image_in_small_steps(world):
    images, values, names = factor_sweeps(world, size=32, n_steps=41)
    x = images.astype(np.float64) / 255
    steps = np.sqrt((np.diff(x, axis=1) ** 2).sum(axis=(2, 3, 4)))  # [F, 40]: image change per step
    for k, name in enumerate(names):
        assert steps[k].min() > 0, f"{name}: some steps do not change the image"
        assert steps[k].max() <= 2 * np.median(steps[k]), f"{name}: a jump in the sweep"
        assert np.abs(np.diff(x[k], axis=0)).max() <= 0.1, f"{name}: a pixel jumps by > 10% in a 0.05 step"
        # Other factors stay at 0: the middle frame is the same face in every row.
        np.testing.assert_array_equal(images[k, 20], images[0, 20])
    np.testing.assert_allclose(values, np.linspace(-1, 1, 41))


@pytest.mark.parametrize("world", sorted(WORLDS))
def test_factor_salience_is_balanced(world):
    sal = factor_salience(world, size=32, n=64)
    assert sal.shape == (WORLDS[world].n_factors,)
    assert sal.min() > 3, sal  # each factor changes a few pixels' worth at 32x32
    assert sal.max() / sal.min() <= 1.5, dict(zip(WORLDS[world].factor_names, sal.round(2)))


def test_salience_matches_a_direct_finite_difference():
    w = WORLDS["default"]
    base = np.zeros((1, w.n_factors))
    up, down = base.copy(), base.copy()
    k = w.factor_names.index("eye_size_left")
    up[0, k], down[0, k] = 0.05, -0.05
    a, _ = w.render_float(up, 32)
    b, _ = w.render_float(down, 32)
    direct = ((a - b).astype(np.float64) ** 2).sum() / 0.1 ** 2
    # factor_salience averages over random faces; at factor values near 0 the eye is mid-sized.
    sal = factor_salience("default", size=32, n=64)[k]
    assert 0.5 * direct < sal < 2 * direct


def test_landmarks_follow_the_factors():
    w = WORLDS["rich"]
    names = list(w.landmark_names)
    f = np.zeros((2, w.n_factors))
    f[1, w.factor_names.index("eye_size_left")] = 1
    f[1, w.factor_names.index("ear_size_right")] = 1
    f[1, w.factor_names.index("smile")] = 1
    img, lm = render_faces(f, size=64, world="rich")
    top, bottom = names.index("eye_left_top"), names.index("eye_left_bottom")
    assert lm[1, bottom, 1] - lm[1, top, 1] > lm[0, bottom, 1] - lm[0, top, 1] + 2  # a bigger eye
    right_ear = names.index("ear_right_outer")
    assert lm[1, right_ear, 0] > lm[0, right_ear, 0] + 2  # the ear reaches further out
    corner = names.index("mouth_left")
    assert lm[1, corner, 1] < lm[0, corner, 1] - 1  # a smile lifts the mouth corners
    unchanged = [i for i, n in enumerate(names) if n.startswith(("jaw", "nose", "brow"))]
    np.testing.assert_allclose(lm[1, unchanged], lm[0, unchanged])


def test_landmarks_sit_on_the_painted_features():
    s = synthetic_faces(50, seed=5, size=64)
    names = s.meta["landmark_names"]
    grey = s.as_float().mean(-1)
    for i in range(len(s)):
        for part in ("eye_left", "eye_right"):
            x0 = s.landmarks[i, names.index(f"{part}_outer" if part == "eye_left" else f"{part}_inner"), 0]
            x1 = s.landmarks[i, names.index(f"{part}_inner" if part == "eye_left" else f"{part}_outer"), 0]
            y0 = s.landmarks[i, names.index(f"{part}_top"), 1]
            cx, cy = int(round((x0 + x1) / 2)), int(round(y0 + (x1 - x0) / 2))
            assert grey[i, cy, cx] < 0.2  # the eye's centre is dark
            radius = (x1 - x0) / 2
            # The eye's painted area, unmixed from the known skin and eye colours, is a disc of that radius.
            h = int(np.ceil(radius)) + 2
            top = int(np.floor(y0 - 0.5))  # rows above this one are outside the eye's anti-aliased edge
            box = grey[i, top:cy + h + 1, cx - h:cx + h + 1]
            alpha = np.clip((np.mean(SKIN) - box) / (np.mean(SKIN) - np.mean(EYE)), 0, 1)
            assert abs(alpha.sum() - np.pi * radius ** 2) < 0.1 * np.pi * radius ** 2 + 1
    mouth = names.index("mouth_top"), names.index("mouth_bottom")
    y = s.landmarks[:, mouth, 1].mean(1).round().astype(int)
    x = s.landmarks[:, mouth, 0].mean(1).round().astype(int)
    rgb = s.as_float()[np.arange(len(s)), y, x]
    assert (rgb[:, 0] > rgb[:, 1] + 0.2).all()  # the mouth's centre is red


def test_hair_halves_take_the_colour_path():
    w = WORLDS["default"]
    f = np.zeros((3, w.n_factors))
    kl, kr = w.factor_names.index("hair_colour_left"), w.factor_names.index("hair_colour_right")
    f[:, kl] = [-1, 0, 1]
    f[:, kr] = [1, -1, 0]
    img, _ = render_faces(f, size=64)
    expect = np.round(hair_colour(np.array([-1.0, 0.0, 1.0])) * 255)
    for i in range(3):  # a pixel in the hair, top left and top right of the head
        np.testing.assert_allclose(img[i, 10, 22], expect[i], atol=1)
        np.testing.assert_allclose(img[i, 10, 41], expect[[2, 0, 1][i]], atol=1)
    lum = expect.mean(1)
    assert lum[0] > lum[1] > lum[2]  # blond, orange, dark


def test_identity_sets_keep_identity_factors_and_vary_view_factors():
    s = synthetic_identities(4, 6, seed=2, size=32)
    w = get_world("default")
    assert len(s) == 24 and set(s.labels["identity"]) == {0, 1, 2, 3}
    ident = [w.factor_names.index(n) for n in w.identity_factors]
    view = [w.factor_names.index(n) for n in w.view_factors]
    assert ident and view
    for k in range(4):
        rows = s.factors[s.labels["identity"] == k]
        np.testing.assert_array_equal(rows[:, ident], np.repeat(rows[:1, ident], 6, 0))
        assert rows[:, view].std(0).min() > 0.1
    other = s.factors[s.labels["identity"] == 1][0, ident]
    assert not np.allclose(s.factors[0, ident], other)


def test_world_metadata():
    for name, w in WORLDS.items():
        assert w.name == name and len(w.factor_names) == len(set(w.factor_names)) >= 6
        assert set(w.identity_factors) | set(w.view_factors) == set(w.factor_names)
        assert {f.kind for f in w.factors} <= {IDENTITY, VIEW}
        np.testing.assert_array_equal(w.ranges, np.tile([-1.0, 1.0], (w.n_factors, 1)))
        assert len(w.landmark_names) >= 20
    assert WORLDS["default"].view_factors == ["mouth_open", "brow_raise"]
    assert WORLDS["default"].demo_size == 32


def test_bad_arguments_are_refused():
    w = WORLDS["default"]
    with pytest.raises(ConfigError, match="world"):
        synthetic_faces(3, world="nope")
    with pytest.raises(ConfigError, match="n must be"):
        synthetic_faces(0)
    with pytest.raises(ConfigError, match="size"):
        synthetic_faces(3, size=8)
    with pytest.raises(DataError, match="8 factors"):
        render_faces(np.zeros((2, 5)))
    bad = np.zeros((2, w.n_factors))
    bad[1, 2] = 1.5
    with pytest.raises(DataError, match="ear_size_left"):
        render_faces(bad)
    bad[1, 2] = np.nan
    with pytest.raises(DataError, match="NaN|nan"):
        render_faces(bad)


@pytest.mark.parametrize("world, size", [("default", 32), ("rich", 64)])
def test_renderer_matches_a_supersampled_pil_drawing(world, size):
    f = WORLDS[world].sample(12, np.random.default_rng(9))
    ours, _ = render_faces(f, size=size, world=world)
    ref = render_faces_pil(f, size=size, world=world, supersample=8)
    diff = np.abs(ours.astype(np.int64) - ref)
    assert diff.mean() < 3.0  # grey levels out of 255: only the edges differ, by rasterisation
    assert np.median(diff) == 0
    # Each face is nearest to its own reference drawing: the renderers differ less than faces do.
    a = ours.reshape(len(f), -1).astype(np.float64)
    b = ref.reshape(len(f), -1).astype(np.float64)
    dist = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    np.testing.assert_array_equal(dist.argmin(1), np.arange(len(f)))


# -- the drawing primitives against independent references ------------------------------------------

def _supersampled_ellipse(size, cx, cy, rx, ry, k=16):
    """Fraction of each pixel inside the ellipse, from k x k samples per pixel."""
    sub = (np.arange(size * k) + 0.5) / (size * k)
    inside = ((sub[None, :] - cx) / rx) ** 2 + ((sub[:, None] - cy) / ry) ** 2 <= 1
    return inside.reshape(size, k, size, k).mean(axis=(1, 3))


@pytest.mark.parametrize("rx, ry", [(0.2, 0.2), (0.3, 0.12), (0.06, 0.09)])
def test_ellipse_coverage_matches_area_sampling(rx, ry):
    size = 32
    cv = Canvas(1, size, (0, 0, 0))
    rows, cols = slice(0, size), slice(0, size)
    x, y = cv.grid(rows, cols)
    cov = cv.coverage(ellipse_distance(x, y, 0.47, 0.52, rx, ry))[0]
    ref = _supersampled_ellipse(size, 0.47, 0.52, rx, ry)
    assert np.abs(cov - ref).max() < 0.25
    assert abs(cov.sum() - ref.sum()) < 0.02 * ref.sum() + 1  # the area is right
    assert cov[16, 15] == 1.0 and cov[0, 0] == 0.0


def test_capsule_distance_is_exact():
    rng = np.random.default_rng(0)
    pts = rng.random((200, 2)).astype(np.float32)
    d = capsule_distance(pts[:, 0].reshape(1, 1, -1), pts[:, 1].reshape(1, 1, -1), 0.2, 0.3, 0.7, 0.6, 0.05)[0, 0]
    # Brute force: distance to 10,001 points along the segment.
    t = np.linspace(0, 1, 10001)
    seg = np.stack([0.2 + 0.5 * t, 0.3 + 0.3 * t], 1)
    ref = np.sqrt(((pts[:, None, :] - seg[None]) ** 2).sum(-1)).min(1) - 0.05
    np.testing.assert_allclose(d, ref, atol=1e-4)


def test_canvas_matrix_compositing_equals_painting_layer_by_layer(rng):
    n, size = 5, 24
    layers = []
    for k in range(6):
        m = 1 if k < 4 else n  # four shared shapes, then two per-face shapes
        cov = rng.random((m, size, size)).astype(np.float32) * (rng.random((m, size, size)) < 0.6)
        colour = rng.random((n if k % 2 else 1, 3)).astype(np.float32)
        layers.append((cov, colour))
    cv = Canvas(n, size, (0.2, 0.3, 0.4))
    for cov, colour in layers:
        cv.paint(cov, colour, slice(0, size), slice(0, size))
    got = cv.images()
    ref = np.broadcast_to(np.array([0.2, 0.3, 0.4]), (n, size, size, 3)).astype(np.float64)
    for cov, colour in layers:  # the textbook "over" operator, one layer at a time
        a = np.broadcast_to(cov, (n, size, size))[..., None]
        ref = ref * (1 - a) + a * np.broadcast_to(colour, (n, 3))[:, None, None, :]
    np.testing.assert_allclose(got, ref, atol=1e-5)


# -- pairs8: colours around circles, iris size and hue on the same pixels ----------------------------

def test_colour_arc_runs_around_a_circle_at_constant_speed():
    u, v = W.HUE_PLANE
    np.testing.assert_allclose([u @ u, v @ v, u @ v, u.sum(), v.sum()], [1, 1, 0, 0, 0], atol=1e-12)  # ⟂ grey
    centre, radius = np.array([0.5, 0.4, 0.3]), 0.2
    f = np.linspace(-1, 1, 61)
    c = W.colour_arc(centre, W.HUE_PLANE, radius, f, arc_degrees=300).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(c - centre, axis=1), radius, rtol=1e-5)
    np.testing.assert_allclose(c[30], centre + radius * u, atol=1e-6)  # factor 0: the arc's middle
    steps = np.linalg.norm(np.diff(c, axis=0), axis=1)
    np.testing.assert_allclose(steps, steps[0], rtol=1e-4)
    angle = np.degrees(np.arccos(np.clip((c[0] - centre) @ (c[-1] - centre) / radius**2, -1, 1)))
    assert abs(angle - 60) < 1e-3  # 300 degrees around: the ends are 60 degrees apart


def test_pairs8_factors_explain_equal_image_variance_and_salience():
    var = factor_variance("pairs8", size=32, n=256)  # the iris hue's share depends on the sizes drawn
    assert var.max() / var.min() < 1.15, var.round(3)
    sal = factor_salience("pairs8", size=32, n=64)
    assert sal.max() / sal.min() <= 1.5, sal.round(2)


@pytest.mark.parametrize("size", [32, 64])
def test_pairs8_irises_at_their_largest_stay_apart_and_inside_the_face(size):
    w = WORLDS["pairs8"]
    k = [w.factor_names.index("eye_size_left"), w.factor_names.index("eye_size_right")]
    f = np.zeros((4, w.n_factors))
    f[:, k] = [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    img, marks = render_faces(f, size=size, world="pairs8")
    img = img.astype(int)
    by_left = (img[0] != img[2]).any(axis=-1)  # pixels the left iris's size reaches
    by_right = (img[0] != img[1]).any(axis=-1)
    assert by_left.any() and by_right.any()
    assert not (by_left & by_right).any()  # no pixel is shared by the two largest irises
    assert not by_left[:, size // 2:].any() and not by_right[:, :size // 2].any()
    names = list(w.landmark_names)
    outer = marks[0, [names.index("eye_left_outer"), names.index("eye_right_outer")], 0]
    face_left = size * (0.5 - W.PAIRS8_FACE_RX)
    assert outer[0] > face_left and outer[1] < size - face_left  # inside the face's outline
    small = img[3, int(size * 0.545), int(size * (0.5 - W.PAIRS8_EYE_DX))]
    assert np.abs(small - img[3, int(size * 0.545), size // 2]).max() > 10  # the smallest iris still shows


def test_ica_isolates_the_factors_of_the_default_world_but_not_of_pairs8():
    """The reason pairs8 exists: linear factor effects are ICA's model; colours that run around circles
    and an iris whose hue and size move the same pixels are not."""
    score = {}
    for world in ("default", "pairs8"):
        train = synthetic_faces(2000, seed=1, size=32, world=world, progress=False)
        test = synthetic_faces(1000, seed=2, size=32, world=world, progress=False)
        score[world] = mig(ICA(10).fit(train).transform(test).units, test.factors)
    assert score["default"] > 0.45 and score["pairs8"] < 0.33, score
