"""Training works: a β-VAE's units recover the synthetic factors better than an AE's trained the same way.

Judged against the ground truth of the synthetic world by MIG (faceit.compare.mig) on held-out
faces of the pairs8 world at 32x32, both models trained with the recipe (12,000 steps). At 4,000
steps the redesigned pairs8 gave the β-VAE only 0.096 against the AE's 0.050 (docs/recipe.md: four
units online by then). Two recipe runs took 8 min 41 s on the idle 2-core machine, far over the
CI budget, so the test runs only when FACEIT_LONG_TESTS=1; CI checks the same property on the demo's
shipped models (tests/test_demo_checkpoints.py).
"""

import os

import pytest

from faceit.compare import mig
from faceit.models import AE, BetaVAE, encode, train
from faceit.models.train import DEFAULT_STEPS
from faceit.stimuli import synthetic_faces

STEPS = DEFAULT_STEPS


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("FACEIT_LONG_TESTS") != "1", reason="about 9 min of training; FACEIT_LONG_TESTS=1")
def test_beta_vae_units_recover_factors_better_than_an_ae_trained_the_same_way():
    faces = synthetic_faces(10000, seed=11, size=32, world="pairs8")
    held_out = synthetic_faces(2000, seed=12, size=32, world="pairs8")
    scores = {}
    for name, model in (("beta_vae", BetaVAE(image_size=32)), ("ae", AE(image_size=32))):
        train(model, faces, STEPS, seed=0, progress=False)
        scores[name] = mig(encode(model, held_out), held_out.factors)
    assert scores["beta_vae"] > scores["ae"] + 0.05, scores
