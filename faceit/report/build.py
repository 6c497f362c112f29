"""report.html from a pipeline run: the figures of a paper's results section, captions, every score.

    from faceit.report.build import build_report
    path = build_report(store, config, stimuli, populations, models, reps, results, rows,
                        notes=["..."], seconds=123.0)

Figures go to ``<run>/figures/*.png``; the page, with every figure embedded as a data URI, to
``<run>/report.html``. A figure whose inputs are missing (a collapsed model, too few models for a
correlation) is left out and the page says why.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import DataError
from . import figures as F
from .html import Figure, Section, Table, write_report

FAMILY_ORDER = ("beta_vae", "vae", "ae", "pca", "ica", "aam", "classifier")
MAX_TUNING_PANELS = 12
MAX_EV_MODELS = 16
MAX_TRAVERSAL_ROWS = 10
TRAVERSAL_VALUES = np.linspace(-2.5, 2.5, 7)
N_CONTACT_SHEET = 48
N_RECONSTRUCTIONS = 8
NULL_BASELINES = ("ae", "pca", "vae", "ica", "aam", "classifier")  # preferred order of the baselines' nulls


class Skip(Exception):
    """A figure that cannot be drawn from this run; the message says why (shown on the page)."""


@dataclass
class RunView:
    """The pipeline's outputs with what every section needs worked out once."""

    store: object
    config: object
    stimuli: object
    populations: dict
    models: list
    reps: dict
    results: dict
    rows: list
    primary: str               # the population the single-population figures use
    fit_rows: np.ndarray       # stimuli the scores were fitted on
    test_rows: np.ndarray      # held-out stimuli (reconstruction)
    top: str | None            # the β-VAE that UDR ranks first, if it has informative units
    top_reason: str | None     # why there is no top β-VAE to show
    labels: dict               # model name -> short label for the figures

    def record(self, name: str, population: str | None = None) -> dict:
        return self.results["pairs"].get((name, population or self.primary), {})

    def entry(self, name: str):
        return next(e for e in self.models if e.name == name)

    def label(self, name: str) -> str:
        return self.labels[name]

    def figure_path(self, name: str) -> Path:
        return self.store.path("figures", name)


def model_labels(models) -> dict:
    """name -> short label: family, β for β-VAEs, seed where a class has several models; the model's
    own name wherever two models would share a label."""
    short = {}
    for e in models:
        parts = [F.family_label(e.family)]
        if e.family == "beta_vae" and e.beta is not None:
            parts.append(f"β={e.beta:g}")
        if e.seed is not None and sum(m.family == e.family for m in models) > 1:
            parts.append(f"s{e.seed}")
        short[e.name] = " ".join(parts)
    taken = list(short.values())
    return {name: (label if taken.count(label) == 1 else name) for name, label in short.items()}


def _view(store, config, stimuli, populations, models, reps, results, rows) -> RunView:
    from ..pipeline.analysis import top_udr_model

    if not populations:
        raise DataError("populations: the report needs at least one population of neurons")
    primary = "axis" if "axis" in populations else next(iter(populations))
    top = top_udr_model(models, results.get("udr", {}))
    reason = None
    if top is None:
        reason = "no β-VAE (β ≠ 1) with a UDR score in this run (UDR needs at least two VAE-family models)"
    elif reps[top].n_informative == 0:
        reason = f"the β-VAE that UDR ranks first ({top}) has no informative unit (collapsed)"
        top = None
    return RunView(store, config, stimuli, populations, models, reps, results, rows, primary,
                   np.flatnonzero(~stimuli.test), np.flatnonzero(stimuli.test), top, reason, model_labels(models))


def _scored(view: RunView, key: str, population: str | None = None) -> list:
    """Models (in run order) whose record on the population has a finite ``key``."""
    out = []
    for e in view.models:
        value = view.record(e.name, population).get(key)
        if value is not None and np.isfinite(value):
            out.append(e)
    return out


def _family_rank(family: str) -> int:
    """Where a model class comes in tables and figures (FAMILY_ORDER; unknown classes last)."""
    return FAMILY_ORDER.index(family) if family in FAMILY_ORDER else len(FAMILY_ORDER)


def _by_family(entries) -> dict:
    families = sorted({e.family for e in entries}, key=_family_rank)
    return {f: [e for e in entries if e.family == f] for f in families}


def _representative(view: RunView, family: str, key: str = "recon_cosine_distance") -> str | None:
    """One model per class for the per-model figures, chosen without neural data: the top β-VAE for
    the β-VAEs, the highest UDR where the class has UDR scores, else the first in run order."""
    if family == "beta_vae":
        return view.top
    candidates = [e for e in _scored(view, key) if e.family == family]
    if not candidates:
        return None
    udr = view.results.get("udr", {})
    ranked = [e for e in candidates if udr.get(e.name) is not None]
    return (max(ranked, key=lambda e: udr[e.name]) if ranked else candidates[0]).name


def _welch_text(a, b, label: str) -> str | None:
    from ..stats import welch_ttest

    try:
        t = welch_ttest(a, b, alternative="two-sided")
    except DataError:
        return None
    return f"{label}: Welch t = {t.statistic:.2f}, df = {t.df:.1f}, p = {t.p_value:.3g}"


# --------------------------------------------------------------------------- stimuli

def stimuli_section(view: RunView) -> Section:
    exp = view.stimuli.experiment
    n, h = len(exp), exp.images.shape[1]
    shown = min(N_CONTACT_SHEET, n)
    from .images import save_image_grid

    path = save_image_grid(exp.images[:shown], view.figure_path("stimuli.png"), n_cols=12, cell_inches=0.55)
    factors = (f" Their generative factors: {', '.join(exp.factor_names)}." if exp.factors is not None else "")
    return Section(
        "Stimuli",
        f"{n} face images of {h}×{h} px were shown to the neurons; {view.test_rows.size} of them were held out "
        f"from every fit and used only to score reconstructions.{factors}",
        figures=[Figure(path, "Stimuli", f"The first {shown} of the {n} experimental stimuli. " + (
            f"The models were trained on {len(view.stimuli.train_images)} other images of the same world."
            if view.config.stimuli.source == "synthetic" else
            f"The models were trained on the {len(view.stimuli.train_images)} stimuli that were not held out."
            if view.config.models.checkpoints == "train" else
            f"The models were trained before this run (models.checkpoints = {view.config.models.checkpoints!r})."))])


# --------------------------------------------------------------------------- Fig 3b-e

def fig_alignment_by_class(view: RunView) -> Figure:
    entries = _scored(view, "alignment")
    if not entries:
        raise Skip("alignment per model class: no model has an alignment score")
    scores = {}
    for family, members in _by_family(entries).items():
        recs = [view.record(e.name) for e in members]
        scores[family] = {"score": [r["alignment"] for r in recs],
                          "rotation": [np.nan if r.get("alignment_rotation") is None else r["alignment_rotation"]
                                       for r in recs]}
    control = view.results.get("controls", {}).get(view.primary, {})
    ceiling = control.get("subset_scores")
    k = control.get("subset_k")
    note = None
    if ceiling and "beta_vae" in scores:
        note = _welch_text(scores["beta_vae"]["score"], ceiling, "β-VAE vs ceiling")
    path = F.alignment_by_class(view.figure_path("fig3b_alignment.png"), scores, ceiling,
                                ceiling_label=f"{k} real neurons as units" if k else "neuron subsets", note=note)
    return Figure(path, f"Alignment with single neurons per model class ({view.primary} population)",
                  "Each dot is one model's alignment score (entropy of its lasso weights onto each neuron, design 4.1; "
                  "1 = every neuron is explained by a single unit); bars are class means; crosses are each model's "
                  "rotation control (the same units randomly rotated: its own chance level). The band is the ceiling: "
                  f"random subsets of {k or 'K'} real neurons used as the units (mean ± s.d.). Look for β-VAEs that "
                  "reach the band and stand clearly above their rotation controls while the other classes fall below."
                  + (f" {note}." if note else ""))


def fig_mixed_control(view: RunView) -> Figure:
    by_population = {}
    for pop in view.populations:
        per_family = {family: [view.record(e.name, pop)["alignment"] for e in members]
                      for family, members in _by_family(_scored(view, "alignment", pop)).items()}
        if per_family:
            by_population[pop] = per_family
    if not by_population:
        raise Skip("mixed controls: no model has an alignment score")
    control = {}
    for pop, c in view.results.get("controls", {}).items():
        if c.get("mixed_scores") and c.get("top_model"):
            observed = view.record(c["top_model"], pop).get("alignment")
            control[f"{view.label(c['top_model'])}\n{pop}"] = {"observed": observed, "mixed": c["mixed_scores"]}
    path = F.mixed_control(view.figure_path("fig3c_mixed_control.png"), by_population, control)
    left = "Left: alignment of every model class on each population."
    if "mixed" in by_population:
        left += (" The simulated 'mixed' population's neurons are tuned to dense random combinations of the factors, "
                 "so one-to-one alignment should drop there for every model.")
    right = (" Right: the top β-VAE's alignment on the recorded responses (star) against its alignment on responses "
             "made by mixing those neurons with random Gaussian matrices (boxes, Fig 3c): a real one-to-one "
             "correspondence must not survive the mixing." if control else "")
    return Figure(path, "Mixed controls", left + right)


def _udr_points(view: RunView):
    udr = view.results.get("udr", {})
    entries = [e for e in _scored(view, "alignment") if udr.get(e.name) is not None and e.beta is not None]
    return (entries, np.array([udr[e.name] for e in entries]),
            np.array([view.record(e.name)["alignment"] for e in entries]),
            np.array([e.beta for e in entries], dtype=float))


def fig_udr_vs_alignment(view: RunView) -> Figure:
    from ..stats import pearson

    entries, udr, align, beta = _udr_points(view)
    if len(entries) < 3:
        raise Skip(f"UDR against alignment: needs at least 3 VAE-family models with both scores, this run has "
                   f"{len(entries)}")
    corr = pearson(udr, align)
    note = f"Pearson r = {corr.r:.2f}, p = {corr.p_value:.3g}, n = {corr.n}"
    path = F.udr_vs_alignment(view.figure_path("fig3d_udr_alignment.png"), udr, align, beta, note=note)
    return Figure(path, f"UDR against alignment ({view.primary} population)",
                  "Each point is one β-VAE or VAE, coloured by β. UDR (Unsupervised Disentanglement Ranking) "
                  "is computed from the models alone, without neural data; alignment needs the neurons. A strong "
                  f"positive correlation ({note}) means a model can be chosen for its match to single neurons "
                  "without ever seeing them, as the paper did.")


def fig_running_correlation(view: RunView) -> Figure:
    from ..stats import running_correlation

    entries, udr, align, beta = _udr_points(view)
    if len(entries) < 3:
        raise Skip(f"running correlation: needs at least 3 VAE-family models with UDR and alignment, "
                   f"this run has {len(entries)}")
    try:
        rc = running_correlation(udr, align, beta)
    except DataError as exc:
        raise Skip(f"running correlation: {exc}") from None
    path = F.running_correlation(view.figure_path("fig3e_running_correlation.png"), rc.thresholds, rc.r,
                                 rc.p_value, rc.n)
    return Figure(path, "Correlation of UDR with alignment as more β values are included",
                  "Pearson r between UDR and alignment over the models with β up to each value (n = models "
                  "included; circled where p < 0.05). Look for a correlation that holds as the range of β widens, "
                  "rather than one carried by a single β.")


def fig_mig_vs_alignment(view: RunView) -> Figure | None:
    from ..stats import pearson

    mig = view.results.get("mig", {})
    if not mig:
        return None  # real stimuli: no known factors, nothing to say
    entries = [e for e in _scored(view, "alignment") if mig.get(e.name) is not None]
    if len(entries) < 2:
        raise Skip(f"alignment against MIG: needs at least 2 models with both scores, this run has {len(entries)}")
    x = np.array([mig[e.name] for e in entries])
    y = np.array([view.record(e.name)["alignment"] for e in entries])
    try:
        corr = pearson(x, y)
        note = f"Pearson r = {corr.r:.2f}, p = {corr.p_value:.3g}, n = {corr.n}"
    except DataError:
        note = None
    path = F.scatter_by_family(view.figure_path("mig_alignment.png"), x, y, [e.family for e in entries],
                               "MIG (ground-truth disentanglement)", "alignment score", note=note)
    return Figure(path, f"Ground truth: alignment against MIG ({view.primary} population)",
                  "Each point is one model. MIG (mutual information gap, design 4.8) measures on the synthetic "
                  "world's known factors how cleanly each factor is captured by a single unit; it is not available "
                  "for real stimuli. Where the simulated neurons are tuned to single factors, alignment with them "
                  "should rise with MIG: this checks that the alignment score measures disentanglement."
                  + (f" {note}." if note else ""))


def fig_mig_per_factor(view: RunView) -> Figure | None:
    per_factor = view.results.get("mig_per_factor") or {}
    if not per_factor:
        return None  # real stimuli: no known factors
    entries = sorted((e for e in view.models if e.name in per_factor["models"]),
                     key=lambda e: (_family_rank(e.family), e.beta or 0.0, e.seed or 0))
    if not entries:
        raise Skip("MIG per factor: no model was scored")
    values = np.array([per_factor["models"][e.name] for e in entries])
    path = F.factor_heatmap(view.figure_path("mig_per_factor.png"), values, [view.label(e.name) for e in entries],
                            per_factor["factors"])
    return Figure(path, "Ground truth: which factors each model captures",
                  "MIG of each synthetic factor, the terms whose mean is a model's MIG: the information about the "
                  "factor in the unit that carries most of it, less that in the runner-up, over the factor's "
                  "entropy. Near 1: one unit holds the factor alone; near 0: no unit holds it, or two share it. "
                  "Look for the factors that every model misses, and for rows that are high across the board.")


def alignment_section(view: RunView) -> Section:
    return _section(view, "Alignment of model units with single neurons (Fig 3b–e)",
                    "Can single model units stand in for single neurons? Each model's units predict each neuron by "
                    "lasso; a neuron explained by one unit scores 1. Scores are read against two references: the "
                    "model's own rotation control, and the ceiling reached by real neurons used as units.",
                    [fig_alignment_by_class, fig_mixed_control, fig_udr_vs_alignment, fig_running_correlation,
                     fig_mig_vs_alignment, fig_mig_per_factor])


# --------------------------------------------------------------------------- explained variance, nulls

def fig_explained_variance(view: RunView) -> Figure:
    shown = view.models
    if len(shown) > MAX_EV_MODELS:  # one box per class: its representative (chosen without neural data)
        names = {_representative(view, f, key="explained_variance") for f in FAMILY_ORDER} - {None}
        shown = [e for e in view.models if e.name in names]
    panels = {}
    for pop in view.populations:
        models = {}
        for e in shown:
            per_neuron = view.record(e.name, pop).get("per_neuron")
            if per_neuron and per_neuron.get("ev_r2"):
                models[view.label(e.name)] = (e.family, per_neuron["ev_r2"])
        if models:
            panels[pop] = models
    if not panels:
        raise Skip("explained variance: no model has explained-variance scores")
    path = F.explained_variance(view.figure_path("explained_variance.png"), panels)
    return Figure(path, "Explained variance of each neuron from all units of each model",
                  f"Cross-validated R² ({view.config.analysis.cv}-fold ridge, design 4.3) of every neuron from all "
                  "of a model's units, one box per model"
                  + (" (one model per class: this run has too many to show each)" if len(shown) < len(view.models)
                     else "") + ". Population-level fit is expected to be similar across model "
                  "classes: what separates them is whether single units match single neurons, not how much "
                  "variance the units explain together.")


def fig_permutation_nulls(view: RunView) -> Figure:
    names = [view.top] if view.top else []
    for family in NULL_BASELINES:
        if len(names) >= 3:
            break
        name = _representative(view, family, key="matched_r")
        if name is not None and name not in names:
            names.append(name)
    panels = []
    for name in names:
        rec = view.record(name)
        null = rec.get("null") or {}
        for stat, key_p, title in (("matched_r", "matched_r_p", "matched |r|"),
                                   ("alignment", "alignment_p", "alignment")):
            if null.get(stat) and rec.get(stat) is not None:
                panels.append({"title": f"{view.label(name)}: {title}", "null": null[stat],
                               "observed": rec[stat], "p": rec.get(key_p)})
    if not panels:
        raise Skip("permutation nulls: no model has a permutation null")
    path = F.permutation_nulls(view.figure_path("permutation_nulls.png"), panels)
    return Figure(path, f"Permutation nulls ({view.primary} population)",
                  "Grey: each statistic recomputed after shuffling the stimulus order of the responses (all neurons "
                  "with one permutation, design 4.6); red line: the observed value. p = (1 + #null ≥ observed) / "
                  "(1 + B). Note that matched |r| favours models with few units, so compare models through their "
                  "nulls, not their raw values.")


def population_section(view: RunView) -> Section:
    return _section(view, "Population fit and permutation tests",
                    "Two checks that frame the alignment scores: how much of each neuron all units explain together, "
                    "and how far each one-to-one statistic lies from its permutation null.",
                    [fig_explained_variance, fig_permutation_nulls])


# --------------------------------------------------------------------------- matched units

def best_factors(units, factors, factor_names) -> list:
    """For each unit, the factor it correlates with most: [(name, |Pearson r|)] per column of units.

    units [N, K], factors [N, F] over the same stimuli; a constant column correlates 0 with anything.
    """
    from .._validation import as_matrix, check_same_rows

    u = as_matrix(units, "units")
    f = as_matrix(factors, "factors")
    check_same_rows(u, "units", f, "factors")
    if len(factor_names) != f.shape[1]:
        raise DataError(f"factor_names: {len(factor_names)} names for {f.shape[1]} factor columns")
    u = u - u.mean(axis=0)
    f = f - f.mean(axis=0)
    denom = np.outer(np.linalg.norm(u, axis=0), np.linalg.norm(f, axis=0))
    r = np.abs(u.T @ f) / np.where(denom > 0, denom, np.inf)
    best = r.argmax(axis=1)
    return [(str(factor_names[j]), float(r[i, j])) for i, j in enumerate(best)]


def _factor_matches(view: RunView, units: np.ndarray) -> list:
    """best_factors over all experiment stimuli; [] when the stimuli have no known factors."""
    exp = view.stimuli.experiment
    return [] if exp.factors is None else best_factors(units, exp.factors, exp.factor_names)


def _matched_pairs(view: RunView) -> list:
    """The top β-VAE's matched pairs on the primary population, strongest |r| first."""
    if view.top is None:
        raise Skip(f"matched pairs of the top β-VAE: {view.top_reason}")
    pairs = view.record(view.top).get("pairs")
    if not pairs or not pairs.get("unit"):
        raise Skip(f"matched pairs of the top β-VAE: {view.top} has no matched pair on {view.primary}")
    p_fwer = pairs.get("p_fwer") or [None] * len(pairs["r"])
    rows = list(zip(pairs["unit"], pairs["neuron"], pairs["r"], p_fwer))
    return sorted(rows, key=lambda row: -abs(row[2]))


def fig_tuning(view: RunView) -> Figure:
    pairs = _matched_pairs(view)[:MAX_TUNING_PANELS]
    units = view.reps[view.top].units[view.fit_rows]
    responses = view.populations[view.primary]
    rates = responses.rates[view.fit_rows]
    factors = _factor_matches(view, view.reps[view.top].units)
    panels = []
    for unit, neuron, r, p in pairs:
        factor = f" ({factors[unit][0]})" if factors else ""
        p_text = "" if p is None else f", p_FWER {p:.2g}"
        panels.append({"title": f"unit {unit}{factor} – neuron {responses.neuron_ids[neuron]}\nr = {r:.2f}{p_text}",
                       "unit": units[:, unit], "rate": rates[:, neuron]})
    path = F.tuning_scatter(view.figure_path("matched_tuning.png"), panels)
    return Figure(path, f"Matched units and neurons of the top β-VAE ({view.label(view.top)})",
                  f"Firing rate of each matched neuron against the value of its unit, over the {view.fit_rows.size} "
                  "fitting stimuli, for the strongest one-to-one pairs (Hungarian matching on |r|, design 4.2; "
                  "p_FWER: family-wise permutation p-value by the max statistic). Ramp-shaped clouds along a single "
                  "unit are what the disentangled hypothesis predicts for axis-tuned face-patch neurons.")


def fig_traversals(view: RunView) -> Figure:
    from ..models import traversals
    from .images import save_image_grid

    if view.top is None:
        raise Skip(f"latent traversals: {view.top_reason}")
    rep = view.reps[view.top]
    model = getattr(view.entry(view.top).model, "model_", None)
    if model is None:
        raise Skip(f"latent traversals: {view.top} has no decoder")
    units = np.flatnonzero(rep.informative)
    if rep.kl is not None:
        units = units[np.argsort(-rep.kl[units], kind="stable")]
    units = units[:MAX_TRAVERSAL_ROWS]
    factors = _factor_matches(view, rep.units)
    pairs = view.record(view.top).get("pairs") or {}
    matched = dict(zip(pairs.get("unit", []), pairs.get("neuron", [])))
    neuron_ids = view.populations[view.primary].neuron_ids
    labels = []
    for u in units:
        text = f"unit {u}"
        if factors:
            text += f": {factors[u][0]} |r| {factors[u][1]:.2f}"
        if u in matched:
            text += f"; neuron {neuron_ids[matched[u]]}"
        labels.append(text)
    images = traversals(model, np.zeros(rep.units.shape[1]), units=units, values=TRAVERSAL_VALUES)
    path = save_image_grid(images, view.figure_path("traversals.png"), row_labels=labels,
                           col_labels=[f"{v:+.1f}" for v in TRAVERSAL_VALUES], cell_inches=0.8)
    return Figure(path, f"Latent traversals of the top β-VAE ({view.label(view.top)})",
                  "Each row sweeps one informative unit from -2.5 to +2.5 prior standard deviations with every other "
                  "unit at the prior mean, and renders the result with the decoder (rows ordered by KL, most "
                  "informative first). Labels give the generative factor the unit correlates with best over the "
                  f"stimuli and the neuron it is matched to on the {view.primary} population. A disentangled unit "
                  "changes one attribute of the face and leaves the rest unchanged.")


def matching_section(view: RunView) -> Section:
    return _section(view, "What the matched units encode",
                    "The top β-VAE is the one UDR ranks first: it is chosen from the models alone, before any neural "
                    "data are seen.", [fig_tuning, fig_traversals])


# --------------------------------------------------------------------------- Fig 7

def _reconstructions(view: RunView) -> dict:
    """label -> Reconstruction for one model per class (the top β-VAE first), on the primary population."""
    from ..decode import reconstruct

    exp = view.stimuli.experiment
    responses = view.populations[view.primary]
    train, test = exp.subset(view.fit_rows), exp.subset(view.test_rows)
    out = {}
    for family in FAMILY_ORDER:
        name = _representative(view, family)
        if name is None:
            continue
        try:
            out[F.family_label(family)] = reconstruct(view.entry(name).model, train, responses.rates[view.fit_rows],
                                                      test, responses.rates[view.test_rows], name=name)
        except DataError as exc:
            warnings.warn(f"report: reconstruction of {name} skipped ({exc})", stacklevel=2)
    return out


def reconstruction_section(view: RunView) -> Section:
    from ..decode import save_reconstruction_grid

    section = Section("Reconstruction of held-out faces from single neurons (Fig 7b–c)",
                      "Each model unit is decoded from its one matched neuron by univariate linear regression fitted "
                      "on the fitting stimuli; the decoded latent vector of each held-out face is rendered by the "
                      "model's decoder (design 4.7).")
    if not view.test_rows.size:
        section.skipped.append("reconstructions: the run has no held-out stimuli")
        return section
    recs = _reconstructions(view)
    if not recs:
        section.skipped.append("reconstructions: no model has a reconstruction score")
        return section
    if view.top is None:
        section.skipped.append(f"the β-VAE's reconstructions: {view.top_reason}")
    if any(r.images is not None for r in recs.values()):
        path = save_reconstruction_grid(view.figure_path("fig7b_reconstructions.png"), view.stimuli.experiment.subset(
            view.test_rows), recs, n_show=N_RECONSTRUCTIONS)
        section.figures.append(Figure(
            path, "Held-out faces reconstructed from matched neurons",
            f"Left column: held-out stimuli never used in any fit; then each model's rendering of the latents decoded "
            f"from its matched neurons of the {view.primary} population (number of neurons in brackets; one model per "
            "class, chosen without neural data). Look for reconstructions that keep the identity-defining features "
            "of each face with only a handful of neurons."))
    tests = _class_tests(view)
    note = "\n".join(f"β-VAE < {t['model']}: p = {t['p_value']:.3g}" for t in tests) or None
    distances = {label: (view.entry(r.name).family, r.cosine_distance) for label, r in recs.items()}
    path = F.cosine_distances(view.figure_path("fig7c_cosine_distance.png"), distances, note=note)
    section.figures.append(Figure(
        path, "Latent reconstruction error per model class",
        "Cosine distance between the standardised true latents (the encoder's means of each held-out face) and "
        "the latents decoded from neurons; one dot per held-out stimulus, bars at the median; 1 is chance "
        "(orthogonal). Above the plot: one-sided t-tests over models (the table below) that the β-VAEs' median "
        "distances are lower than each other class's."))
    if tests:
        section.tables.append(Table(
            ["β-VAE vs", "β-VAE models", "models", "β-VAE median", "class median", "test", "t", "df",
             "p (one-sided)"],
            [[t["model"], t["n_reference"], t["n_model"], t["reference_median"], t["model_median"], t["test"],
              t["t"], t["df"], t["p_value"]] for t in tests],
            "One model is one observation: its median cosine distance over the held-out faces. Welch's t-test over "
            "the models of the two classes (alternative: the β-VAEs' mean is lower); against a class of one model "
            "(a deterministic baseline), a one-sample t-test of the β-VAEs against its value (design 4.7)."))
    return section


def _class_tests(view: RunView) -> list[dict]:
    """compare_models over every scored model of each class on the primary population (design 4.7)."""
    from ..decode import compare_models

    key = "recon_cosine_distance"
    scores = {F.family_label(family): [view.record(e.name)[key] for e in entries]
              for family, entries in _by_family(_scored(view, key)).items()}
    if len(scores.get("β-VAE", [])) < 2 or len(scores) < 2:
        return []
    try:
        return compare_models(scores, "β-VAE")
    except DataError as exc:
        warnings.warn(f"report: the reconstruction tests were skipped ({exc})", stacklevel=2)
        return []


# --------------------------------------------------------------------------- table of every score

TABLE_COLUMNS = [("model", "model"), ("population", "population"), ("beta", "β"), ("n_informative", "units"),
                 ("udr", "UDR"), ("mig", "MIG"), ("alignment", "alignment"), ("alignment_rotation", "rotation ctrl"),
                 ("alignment_p", "p"), ("matched_r", "matched |r|"), ("matched_r_p", "p"),
                 ("explained_variance", "EV R²"), ("explained_variance_corrected", "EV / ceiling"),
                 ("recon_cosine_distance", "recon cos dist"), ("recon_identification", "identification"),
                 ("recon_n_neurons", "neurons")]


def scores_section(view: RunView) -> Section:
    columns = [(key, title) for key, title in TABLE_COLUMNS if any(key in row for row in view.rows)]
    table = Table([title for _, title in columns], [[row.get(key) for key, _ in columns] for row in view.rows],
                  "One row per model and population (results/summary.csv holds the same numbers at full precision). "
                  "p-values are permutation p-values (design 4.6); '–' marks a score that is not defined "
                  "(a collapsed model, or a model without a decoder).")
    return Section("Every score", "", tables=[table])


# --------------------------------------------------------------------------- assembly

def _section(view: RunView, title: str, text: str, builders) -> Section:
    section = Section(title, text)
    for build in builders:
        try:
            figure = build(view)
        except Skip as exc:
            section.skipped.append(str(exc))
            continue
        if figure is not None:  # None: the figure does not apply to this kind of run
            section.figures.append(figure)
    return section


SECTIONS = (stimuli_section, alignment_section, population_section, matching_section, reconstruction_section,
            scores_section)


def _header_notes(view: RunView, notes) -> list:
    notes = list(notes)
    collapsed = [e.name for e in view.models if view.reps[e.name].n_informative == 0]
    if collapsed:
        notes.append(f"{len(collapsed)} model(s) with no informative unit (KL ≤ 0.01 nats on every unit) have no "
                     f"scores and are left out of the figures: {', '.join(collapsed)}.")
    if view.top:
        notes.append(f"Top β-VAE by UDR (chosen without neural data): {view.top}.")
    elif view.top_reason:
        notes.append(f"No β-VAE figures: {view.top_reason}.")
    return notes


def build_report(store, config, stimuli, populations, models, reps, results, rows, notes=(),
                 seconds: float | None = None) -> Path:
    """Draw every figure into ``store.root/figures`` and write ``store.root/report.html``; returns its path.

    Arguments are the pipeline's stage outputs (see faceit.pipeline.run.run_pipeline); ``notes``
    are listed in the page's header, ``seconds`` is the run time shown there.
    """
    view = _view(store, config, stimuli, populations, models, reps, results, rows)
    sections = [build(view) for build in tqdm(SECTIONS, desc="report", unit="section")]
    meta = [f"built {_dt.datetime.now().strftime('%Y-%m-%d %H:%M')}"]
    if seconds is not None:
        meta.append(f"run time {seconds:.0f} s")
    meta += [f"{len(stimuli.experiment)} stimuli ({view.test_rows.size} held out)", f"{len(models)} models",
             ", ".join(f"{p}: {r.rates.shape[1]} neurons" for p, r in populations.items())]
    page = write_report(store.path("report.html"), "faceit: do single model units match single face-patch neurons?",
                        sections, notes=_header_notes(view, notes), meta=meta)
    drawn = {Path(f.path).name for section in sections for f in section.figures}
    for old in (store.root / "figures").glob("*.png"):  # an earlier build's figures this page no longer shows
        if old.name not in drawn:
            old.unlink(missing_ok=True)
    return page
