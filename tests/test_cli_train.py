"""`faceit train` and `faceit sweep` train with the recipe's defaults unless told otherwise."""

from faceit import cli
from faceit.models.checkpoint import read_checkpoint_info
from faceit.models.train import DEFAULT_BATCH_SIZE
from faceit.models.vae import DEFAULT_BETA, DEFAULT_TC_WEIGHT


def test_train_keeps_the_recipe_defaults_and_takes_overrides(tmp_path):
    assert cli.main(["train", "--images", "synthetic:64:0:pairs8", "--size", "32", "--steps", "3",
                     "--out", str(tmp_path / "default")]) == 0
    index = read_checkpoint_info(tmp_path / "default")
    assert index["step"] == 3
    assert index["training"]["batch_size"] == DEFAULT_BATCH_SIZE
    assert index["config"]["beta"] == DEFAULT_BETA
    assert index["config"]["tc_weight"] == DEFAULT_TC_WEIGHT

    assert cli.main(["train", "--images", "synthetic:64:0:pairs8", "--size", "32", "--steps", "2",
                     "--batch-size", "5", "--beta", "3", "--tc-weight", "0", "--out", str(tmp_path / "told")]) == 0
    index = read_checkpoint_info(tmp_path / "told")
    assert (index["training"]["batch_size"], index["config"]["beta"], index["config"]["tc_weight"]) == (5, 3.0, 0.0)


def test_sweep_passes_the_batch_size_to_every_model(tmp_path):
    assert cli.main(["sweep", "--images", "synthetic:64:0:pairs8", "--size", "32", "--steps", "2",
                     "--batch-size", "4", "--betas", "2", "--seeds", "0", "1", "--out", str(tmp_path)]) == 0
    for seed in (0, 1):
        index = read_checkpoint_info(tmp_path / f"beta_vae-beta2-seed{seed}")
        assert (index["step"], index["training"]["batch_size"]) == (2, 4)
