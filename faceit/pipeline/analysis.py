"""Scores per (model, population) and across models: the numbers behind the report's figures."""

from __future__ import annotations

import math
import warnings

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError
from .config import RunConfig
from .stages import ModelEntry, StimulusSets, subset_representation
from .store import RunStore

VAE_FAMILIES = ("beta_vae", "vae")


def _nan_if_missing(fn):
    try:
        return fn()
    except DataError as exc:
        warnings.warn(str(exc), stacklevel=2)
        return None


def udr_scores(config: RunConfig, store: RunStore, models: list[ModelEntry], reps: dict) -> dict:
    """UDR (lasso, paper aggregate) across the VAE-family models; name -> score."""
    from ..compare import udr

    names = [e.name for e in models if e.family in VAE_FAMILIES]
    if len(names) < 2:
        return {}
    fp = config.fingerprint("stimuli", "models")

    def compute():
        result = udr([reps[n] for n in names], method="lasso", aggregate="paper")
        return dict(zip(names, (float(s) for s in result.scores)))

    return store.cached_json("results/udr", fp, compute)


def ground_truth_scores(config: RunConfig, store: RunStore, stimuli: StimulusSets, reps: dict) -> tuple[dict, dict]:
    """MIG of every model on the synthetic factors: (name -> MIG, {"factors": factor names, "models": name ->
    MIG per factor}); MIG is the mean of the per-factor values. Both empty for real stimuli."""
    from ..compare import mig_per_factor

    factors = stimuli.experiment.factors
    if factors is None or config.stimuli.source != "synthetic":
        return {}, {}
    fp = config.fingerprint("stimuli", "models")
    n_factors = factors.shape[1]
    per_factor = store.cached_json("results/mig_per_factor", fp, lambda: {
        "factors": list(stimuli.experiment.factor_names),
        "models": {name: mig_per_factor(rep.units[:, rep.informative], factors).tolist() if rep.n_informative
                   else [0.0] * n_factors for name, rep in reps.items()}})
    return {name: float(np.mean(values)) for name, values in per_factor["models"].items()}, per_factor


def analyse_pair(config: RunConfig, entry: ModelEntry, rep, responses, stimuli: StimulusSets) -> dict:
    """Every score of one model against one population, on the fitting (non-held-out) stimuli."""
    from ..compare import alignment_score, explained_variance, match_units
    from ..decode import reconstruct
    from ..stats import permutation_test

    a = config.analysis
    fit_rows = np.flatnonzero(~stimuli.test)
    test_rows = np.flatnonzero(stimuli.test)
    units = subset_representation(rep, fit_rows)
    rates = responses.rates[fit_rows]
    record = {"n_informative": int(rep.n_informative)}
    if rep.n_informative == 0:
        warnings.warn(f"{entry.name}: no informative unit; its scores are left empty", stacklevel=2)
        return record

    align = alignment_score(units, rates, alpha=a.alpha, n_rotations=a.n_rotations, seed=a.seed)
    matching = match_units(units, rates)
    fit_ids = stimuli.experiment.ids[fit_rows]
    ev = explained_variance(units, responses.subset(stimulus_ids=fit_ids), cv=a.cv, seed=a.seed)
    perm_r = permutation_test(units, rates, "matched_r", n_permutations=a.n_permutations, seed=a.seed,
                              backend=a.backend, progress=False)
    perm_a = permutation_test(units, rates, "alignment", n_permutations=a.n_permutations, seed=a.seed,
                              backend=a.backend, progress=False, alpha=a.alpha)
    record.update(
        alignment=align.score, alignment_rotation=align.rotation_control, alignment_p=perm_a.p_value,
        matched_r=matching.mean_abs_r, matched_r_p=perm_r.p_value,
        explained_variance=float(np.nanmean(ev.r2)),
        explained_variance_corrected=_corrected_mean(ev),
        per_neuron={"neuron": align.neuron_index.tolist(), "alignment_d": align.per_neuron.tolist(),
                    "ev_neuron": ev.neuron_index.tolist(), "ev_r2": ev.r2.tolist()},
        pairs={"unit": matching.unit_index.tolist(), "neuron": matching.neuron_index.tolist(),
               "r": matching.r.tolist(), "p_fwer": (perm_r.pair_p_values.tolist()
                                                    if perm_r.pair_p_values is not None else None)},
        null={"matched_r": perm_r.null.tolist(), "alignment": perm_a.null.tolist()},
    )
    if test_rows.size < 2:
        warnings.warn(f"{entry.name}: fewer than 2 held-out stimuli; no reconstruction scores", stacklevel=2)
        return record
    train_stim = stimuli.experiment.subset(fit_rows)
    test_stim = stimuli.experiment.subset(test_rows)
    rec = _nan_if_missing(lambda: reconstruct(entry.model, train_stim, rates, test_stim,
                                              responses.rates[test_rows], name=entry.name))
    if rec is not None:
        record.update(recon_cosine_distance=rec.median_cosine_distance,
                      recon_identification=rec.identification_accuracy, recon_pixel_mse=rec.pixel_mse,
                      recon_n_neurons=rec.n_neurons, recon_distances=rec.cosine_distance.tolist())
    return record


def _corrected_mean(ev) -> float | None:
    """The population's R^2 as a fraction of what its noise ceilings allow: mean R^2 over the
    neurons with a positive ceiling divided by their mean ceiling (a mean of per-neuron ratios would
    let a neuron with a tiny ceiling dominate; this pairs with the mean R^2 beside it)."""
    if ev.noise_ceiling is None:
        return None
    good = ev.noise_ceiling > 0
    if not good.any():
        return None
    return float(np.mean(ev.r2[good]) / np.mean(ev.noise_ceiling[good]))


def analyse(config: RunConfig, store: RunStore, stimuli: StimulusSets, populations: dict,
            models: list[ModelEntry], reps: dict) -> dict:
    """All scores: {"pairs": {(model, population): record}, "udr": ..., "mig": ..., "mig_per_factor": ...,
    "controls": ...}."""
    from ..compare.lasso import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        out = _analyse(config, store, stimuli, populations, models, reps)
    lasso = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    for w in caught:  # everything but the lasso's convergence notes goes on as it came
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if lasso:
        warnings.warn(f"{len(lasso)} lasso calls left some fits unconverged at max_iter (e.g. {lasso[0].message}); "
                      "their weights are the last iterate", ConvergenceWarning, stacklevel=2)
    return out


def _analyse(config, store, stimuli, populations, models, reps) -> dict:
    fp = config.fingerprint("stimuli", "responses", "models", "analysis")
    udr = udr_scores(config, store, models, reps)
    mig, mig_factors = ground_truth_scores(config, store, stimuli, reps)
    jobs = [(e, p) for p in populations for e in models]
    records = {}
    for entry, pop in tqdm(jobs, desc="comparing models with neurons", unit="pair"):
        records[(entry.name, pop)] = store.cached_json(
            f"results/pairs/{entry.name}__{pop}", fp,
            lambda: analyse_pair(config, entry, reps[entry.name], populations[pop], stimuli))
    controls = {pop: store.cached_json(f"results/controls/{pop}", fp,
                                       lambda: population_controls(config, stimuli, populations[pop], models, reps, udr))
                for pop in populations}
    return {"pairs": records, "udr": udr, "mig": mig, "mig_per_factor": mig_factors, "controls": controls}


def top_udr_model(models: list[ModelEntry], udr: dict) -> str | None:
    """The β-VAE (β > 1) that UDR ranks first: chosen without neural data, as the paper did."""
    candidates = [e.name for e in models if e.family == "beta_vae" and e.name in udr]
    return max(candidates, key=lambda n: udr[n]) if candidates else None


def population_controls(config: RunConfig, stimuli: StimulusSets, responses, models, reps, udr) -> dict:
    """Fig 3b's neuron-subset ceiling and Fig 3c's mixed-responses control for one population."""
    from ..stats import mixed_responses_control, neuron_subset_ceiling

    a = config.analysis
    fit_rows = np.flatnonzero(~stimuli.test)
    rates = responses.rates[fit_rows]
    top = top_udr_model(models, udr)
    # as many neurons as the top model has informative units; a model with fewer than 2 gives no
    # meaningful ceiling (one neuron aligns with itself at 1), so then the latent size, as without a top model
    k = reps[top].n_informative if top and reps[top].n_informative >= 2 else config.models.latent_dim
    k = max(1, min(k, rates.shape[1] - 1))
    ceiling = neuron_subset_ceiling(rates, n_units=k, n_repeats=a.subset_repeats, seed=a.seed, alpha=a.alpha)
    out = {"subset_k": int(k), "subset_scores": ceiling.scores.tolist(), "top_model": top}
    if top is not None and reps[top].n_informative:
        mixed = mixed_responses_control(subset_representation(reps[top], fit_rows), rates,
                                        n_repeats=a.mixed_repeats, seed=a.seed, alpha=a.alpha)
        out["mixed_scores"] = mixed.scores.tolist()
    return out


SUMMARY_COLUMNS = ["model", "family", "beta", "seed", "population", "n_informative", "udr", "mig", "alignment",
                   "alignment_rotation", "alignment_p", "matched_r", "matched_r_p", "explained_variance",
                   "explained_variance_corrected", "recon_cosine_distance", "recon_identification",
                   "recon_pixel_mse", "recon_n_neurons"]


def summary_rows(models: list[ModelEntry], results: dict) -> list[dict]:
    """One row per (model, population) with the columns of design section 3 (None where not defined)."""
    rows = []
    for (name, pop), record in results["pairs"].items():
        entry = next(e for e in models if e.name == name)
        row = {"model": name, "family": entry.family, "beta": entry.beta, "seed": entry.seed, "population": pop,
               "udr": results["udr"].get(name), "mig": results["mig"].get(name)}
        for col in SUMMARY_COLUMNS:
            if col not in row:
                value = record.get(col)
                row[col] = None if isinstance(value, float) and math.isnan(value) else value
        rows.append(row)
    return rows


def findings(models: list[ModelEntry], results: dict) -> list[str]:
    """Plain statements of what the run shows, per population: the UDR-chosen β-VAE against its rotation
    control and against the best model of every other class, UDR against alignment across the β-VAEs,
    and the neurons its reconstruction needed. Written from the numbers, whichever way they fall."""
    from ..stats import pearson

    top = top_udr_model(models, results["udr"])
    if top is None:
        return ["No β-VAE with β > 1 has a UDR score, so none was chosen for the comparisons."]
    family_of = {e.name: e.family for e in models}
    out = []
    for pop in sorted({p for _, p in results["pairs"]}):
        rec = results["pairs"].get((top, pop), {})
        if rec.get("alignment") is None:
            out.append(f"[{pop}] {top} (ranked first by UDR) has no informative unit; nothing to compare.")
            continue
        best = {}
        for (name, p), r in results["pairs"].items():
            fam = family_of[name]
            if p == pop and name != top and r.get("alignment") is not None and fam != "beta_vae":
                best[fam] = max(best.get(fam, -1.0), r["alignment"])
        beaten = [f"{f} ({v:.2f})" for f, v in sorted(best.items()) if v < rec["alignment"]]
        not_beaten = [f"{f} ({v:.2f})" for f, v in sorted(best.items()) if v >= rec["alignment"]]
        rotation = ("" if rec.get("alignment_rotation") is None
                    else f" against {rec['alignment_rotation']:.2f} for its own random rotations")
        text = (f"[{pop}] {top}, the β-VAE ranked first by UDR (no neural data used), aligns at "
                f"{rec['alignment']:.2f}{rotation} (permutation p = {rec['alignment_p']:.3g}).")
        if beaten:
            text += " It aligns better than the best " + ", ".join(beaten) + "."
        if not_beaten:
            text += " It does not beat " + ", ".join(not_beaten) + "."
        out.append(text)
        vaes = [(results["udr"][n], r["alignment"]) for (n, p), r in results["pairs"].items()
                if p == pop and n in results["udr"] and r.get("alignment") is not None]
        if len(vaes) >= 3:
            corr = pearson([u for u, _ in vaes], [a for _, a in vaes])
            out.append(f"[{pop}] Across the {len(vaes)} β-VAEs and VAEs with a UDR score, UDR and alignment "
                       f"correlate with r = {corr.r:.2f} (p = {corr.p_value:.3g}).")
        if rec.get("recon_n_neurons") is not None:
            out.append(f"[{pop}] Its reconstruction of the held-out faces used {rec['recon_n_neurons']} neurons "
                       f"(one per informative unit): median cosine distance {rec['recon_cosine_distance']:.2f}, "
                       f"identification {rec['recon_identification']:.0%}.")
    return out
