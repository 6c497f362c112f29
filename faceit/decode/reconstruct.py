"""Faces rendered from decoded units, scored against the held-out stimuli (design 4.7, Fig 7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.stats

from .._validation import as_real_array, check_finite, check_positive_int, check_same_rows
from ..compare import Matching, match_units
from ..compare._inputs import rate_matrix
from ..errors import ConfigError, DataError
from ..representation import Representation
from ..stats.welch import welch_ttest
from .units import LinearDecoder


def as_model(model):
    """A fitted model with transform/inverse_transform: baselines as they are, a BetaVAE wrapped."""
    if hasattr(model, "transform") and hasattr(model, "has_decoder"):
        return model
    import torch

    if isinstance(model, torch.nn.Module):
        from ..models.baselines import Autoencoder

        return Autoencoder.from_model(model)
    raise ConfigError(f"model: expected a faceit model (BetaVAE or a baseline), got {type(model).__name__}")


def _standardiser(train: Representation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Columns that take part in the scores (informative, not constant) and their training mean/std."""
    std = train.units.std(axis=0)
    keep = np.flatnonzero(train.informative & (std > 0))
    if keep.size == 0:
        raise DataError(f"{train.name}: no informative, non-constant unit on the training stimuli")
    return keep, train.units[:, keep].mean(axis=0), std[keep]


def cosine_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine distance [N_a, N_b] between rows; a zero row has similarity 0 (distance 1) to anything."""
    na = np.linalg.norm(a, axis=1, keepdims=True)
    nb = np.linalg.norm(b, axis=1, keepdims=True)
    sim = (a / np.where(na > 0, na, 1.0)) @ (b / np.where(nb > 0, nb, 1.0)).T
    return 1.0 - sim


@dataclass
class Reconstruction:
    """What a model makes of the held-out stimuli when driven by its matched neurons.

    images: float32 [N_test, H, W, C] in [0, 1], rendered from the decoded units (None when the
    model has no decoder); decoded, true: units [N_test, K] (true = the encoder's means of the
    held-out images); cosine_distance [N_test]: between standardised true and decoded units
    (informative units; standardised with the training stimuli's mean and std);
    identification_accuracy: fraction of test stimuli whose own true units are the nearest
    (cosine) to their decoded units among all test stimuli (chance 1/N_test); pixel_mse: mean
    squared pixel error of the rendered images (None without a decoder); n_neurons: the
    neurons used, one per matched unit.
    """

    name: str
    images: np.ndarray | None
    decoded: np.ndarray
    true: np.ndarray
    cosine_distance: np.ndarray
    identification_accuracy: float
    pixel_mse: float | None
    n_neurons: int
    matching: Matching

    @property
    def median_cosine_distance(self) -> float:
        return float(np.median(self.cosine_distance))


def reconstruct(model, stimuli_train, rates_train, stimuli_test, rates_test, matching: Matching | None = None,
                name: str | None = None) -> Reconstruction:
    """Reconstruct held-out faces from single neurons through a fitted model.

    model: a fitted faceit model (BetaVAE / AE / VAE, or a baseline with ``transform``;
    PCA, ICA and AAM render through their inverse transform). stimuli_* : Stimuli or images
    [N, H, W, 3]; rates_* : [N, N_neurons] arrays over the same stimuli in the same order, or
    Responses, paired with Stimuli by :meth:`~faceit.neural.Responses.rows_for` (by stimulus id
    where both name their stimuli, else by row), and rates_test with rates_train by neuron id.
    The matching (default: match_units on the training stimuli) and the per-pair regressions
    see only the training stimuli; the held-out ones are only encoded (for the true units) and scored.
    """
    model = as_model(model)
    train = model.transform(stimuli_train)
    true = model.transform(stimuli_test)
    if hasattr(rates_train, "neuron_ids") and hasattr(rates_test, "subset"):
        rates_test = _by_id(lambda: rates_test.subset(neuron_ids=rates_train.neuron_ids), "rates_test")
    rates_train_arr = rate_matrix(_aligned(rates_train, stimuli_train, "rates_train"), "rates_train")
    rates_test_arr = rate_matrix(_aligned(rates_test, stimuli_test, "rates_test"), "rates_test")
    check_same_rows(train.units, "stimuli_train", rates_train_arr, "rates_train")
    check_same_rows(true.units, "stimuli_test", rates_test_arr, "rates_test")
    if rates_test_arr.shape[1] != rates_train_arr.shape[1]:
        raise DataError(f"rates_test has {rates_test_arr.shape[1]} neurons but rates_train has "
                        f"{rates_train_arr.shape[1]}")
    if true.units.shape[0] < 2:
        raise DataError("stimuli_test: need at least 2 held-out stimuli to score identification")
    if matching is None:
        matching = match_units(train, rates_train_arr)
    decoder = LinearDecoder.fit(train, rates_train_arr, matching)
    decoded = decoder.predict(rates_test_arr)

    keep, mean, std = _standardiser(train)
    z_true = (true.units[:, keep] - mean) / std
    z_decoded = (decoded[:, keep] - mean) / std
    distances = cosine_distances(z_decoded, z_true)
    own = np.diag(distances).copy()
    identified = float(np.mean(np.argmin(distances, axis=1) == np.arange(distances.shape[0])))

    images = pixel_mse = None
    if model.has_decoder:
        from ..models.baselines.base import as_images

        images = model.inverse_transform(decoded)
        originals = as_images(stimuli_test, "stimuli_test")
        if images.shape != originals.shape:
            raise DataError(f"model renders images of shape {images.shape[1:]}, the held-out stimuli are "
                            f"{originals.shape[1:]}")
        pixel_mse = float(np.mean((images - originals) ** 2))
    return Reconstruction(name=name or getattr(model, "name", "model"), images=images, decoded=decoded,
                          true=true.units, cosine_distance=own, identification_accuracy=identified,
                          pixel_mse=pixel_mse, n_neurons=len(matching), matching=matching)


def _aligned(rates, stimuli, name: str):
    """Responses paired with the rows of a Stimuli (Responses.rows_for: by stimulus id where both
    name their stimuli); arrays as they are (rows in order)."""
    if hasattr(rates, "rows_for") and hasattr(stimuli, "ids"):
        return _by_id(lambda: rates.rows_for(stimuli, name), name)
    return rates


def _by_id(select, name: str):
    try:
        return select()
    except DataError as exc:
        raise DataError(f"{name}: {exc} (pass {name}.rates to pair rows by position instead)") from None


def compare_models(scores: dict, reference: str) -> list[dict]:
    """One-sided t-tests that the ``reference`` class's models reconstruct better than each other class's (4.7).

    scores: class label -> that class's models, each as its score (the median cosine distance over
    the held-out stimuli, lower is better) or as a Reconstruction (its median is taken). As in the
    paper, a model is one observation: Welch's t-test over the models of the two classes, with the
    alternative that the reference class's mean score is lower. A class of one model (PCA, ICA
    and AAM are deterministic, so a run has one of each) is a fixed value, and the test is then a
    one-sample t-test of the reference class's scores against it. The reference class needs at
    least 2 models. Returns one dict per other class: reference, model (the class), n_reference,
    n_model, reference_median and model_median (over the class's models), t, df, p_value and test
    ("welch" or "one-sample").
    """
    if reference not in scores:
        raise ConfigError(f"reference={reference!r} is not one of {sorted(scores)}")
    by_class = {label: _model_scores(models, label) for label, models in scores.items()}
    ref = by_class[reference]
    if ref.size < 2:
        raise DataError(f"{reference}: a t-test over models needs at least 2 of them, got {ref.size}")
    rows = []
    for label, other in by_class.items():
        if label == reference:
            continue
        if other.size == 1:
            one = scipy.stats.ttest_1samp(ref, other[0], alternative="less")
            if not np.isfinite(one.statistic):
                raise DataError(f"{reference}: every model scores the same; the t statistic is undefined")
            t, df, p, test = float(one.statistic), float(ref.size - 1), float(one.pvalue), "one-sample"
        else:
            welch = welch_ttest(ref, other, alternative="less")
            t, df, p, test = welch.statistic, welch.df, welch.p_value, "welch"
        rows.append({"reference": reference, "model": label, "n_reference": int(ref.size), "n_model": int(other.size),
                     "reference_median": float(np.median(ref)), "model_median": float(np.median(other)),
                     "t": t, "df": df, "p_value": p, "test": test})
    return rows


def _model_scores(models, label: str) -> np.ndarray:
    """Per-model scores [n] from a class's Reconstructions or numbers."""
    if isinstance(models, Reconstruction) or np.isscalar(models):
        models = [models]
    values = [m.median_cosine_distance if isinstance(m, Reconstruction) else m for m in models]
    return check_finite(as_real_array(values, f"scores[{label!r}]", ndim=1), f"scores[{label!r}]")


def save_reconstruction_grid(path, originals, reconstructions: dict, n_show: int = 8):
    """The Fig 7 grid: one row per held-out face, columns original | model 1 (k neurons) | ...

    originals: Stimuli or images [N, H, W, 3]; reconstructions: label -> Reconstruction (those
    without images are left out). Written atomically as PNG; returns the path.
    """
    from ..models.baselines.base import as_images
    from ..report.images import save_image_grid

    n_show = check_positive_int(n_show, "n_show")
    originals = as_images(originals, "originals")
    shown = {k: r for k, r in reconstructions.items() if r.images is not None}
    n = min(n_show, originals.shape[0])
    columns = [originals[:n]] + [r.images[:n] for r in shown.values()]
    if any(c.shape != columns[0].shape for c in columns):
        raise DataError("reconstructions: rendered images differ in shape from the originals")
    grid = np.stack(columns, axis=1)
    labels = ["original"] + [f"{k}\n({r.n_neurons} neurons)" for k, r in shown.items()]
    return save_image_grid(grid, path, col_labels=labels)
