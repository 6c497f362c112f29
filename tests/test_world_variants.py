"""scripts/world_variants.py: the pairs8 revisions behind docs/recipe.md's "Revising the world"."""

import importlib.util
from pathlib import Path

import numpy as np

from faceit.stimuli import factor_variance, render_faces

_path = Path(__file__).resolve().parents[1] / "scripts" / "world_variants.py"
_spec = importlib.util.spec_from_file_location("world_variants", _path)
V = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(V)


def test_hue_shows_keeps_the_factors_image_variance_equal():
    var = factor_variance(V.variant_world("hue-shows"), size=32, n=256)
    assert var.max() / var.min() < 1.15, var.round(3)


def test_loud_backdrop_changes_only_the_backdrop():
    base = factor_variance("pairs8", size=32, n=32)
    loud = factor_variance(V.variant_world("loud-backdrop"), size=32, n=32)
    names = V.W.get_world("pairs8").factor_names
    backdrop = [names.index("background_left"), names.index("background_right")]
    others = [k for k in range(len(names)) if k not in backdrop]
    np.testing.assert_allclose(loud[others], base[others], rtol=1e-9)
    assert (loud[backdrop] > 1.5 * base[backdrop]).all()  # (0.11 / 0.084)^2 = 1.7


def test_the_smallest_iris_of_hue_shows_is_larger_than_pairs8s():
    world = V.variant_world("hue-shows")
    f = np.zeros((1, world.n_factors))
    f[0, world.factor_names.index("eye_size_left")] = -1
    blank = f.copy()
    blank[0, world.factor_names.index("eye_colour_left")] = 1  # same size, the other end of the hue arc
    iris_px = {}
    for w in ("pairs8", world):
        a, _ = render_faces(f, size=32, world=w, progress=False)
        b, _ = render_faces(blank, size=32, world=w, progress=False)
        iris_px[getattr(w, "name", w)] = int((a != b).any(axis=-1).sum())  # pixels the hue reaches
    assert iris_px["pairs8:hue-shows"] > 2 * iris_px["pairs8"], iris_px
