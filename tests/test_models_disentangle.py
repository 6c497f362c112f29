"""Training works: a β-VAE's units recover the synthetic factors better than an AE's trained the same way.

Judged against the ground truth of the synthetic world by MIG (faceit.compare.mig) on held-out
faces of the default world at 32x32, both models trained with the recipe's settings for a
shortened run of 3,000 steps (measured: β-VAE 0.144, AE 0.034; at 1,500 steps neither has
separated anything yet, see docs/recipe.md). Two such runs take about 2.5 minutes on an idle
2-core machine, over the CI budget, so the test runs only when FACEIT_LONG_TESTS=1.
"""

import os

import pytest

from faceit.compare import mig
from faceit.models import AE, BetaVAE, encode, train
from faceit.stimuli import synthetic_faces

STEPS = 3000


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FACEIT_LONG_TESTS") != "1", reason="about 2.5 min of training; FACEIT_LONG_TESTS=1")
def test_beta_vae_units_recover_factors_better_than_an_ae_trained_the_same_way():
    faces = synthetic_faces(4000, seed=11, size=32)
    held_out = synthetic_faces(2000, seed=12, size=32)
    scores = {}
    for name, model in (("beta_vae", BetaVAE(image_size=32)), ("ae", AE(image_size=32))):
        train(model, faces, STEPS, seed=0, progress=False)
        scores[name] = mig(encode(model, held_out), held_out.factors)
    assert scores["beta_vae"] > scores["ae"] + 0.05, scores
