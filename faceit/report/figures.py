"""The report's plots (matplotlib object API on the Agg canvas; no pyplot global state).

Every function takes plain numbers (lists or arrays, validated here), draws one figure, writes
it atomically as PNG at ``path`` and returns the path. What the numbers mean, and the statistics
printed on the figures, come from the caller (faceit.report.build); these functions only draw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._validation import as_real_array
from ..errors import DataError
from .images import save_png

DPI = 100

# One colour per model class, the same in every figure; unknown families cycle through the rest.
FAMILY_COLOURS = {"beta_vae": "#d62728", "vae": "#ff7f0e", "ae": "#1f77b4", "pca": "#2ca02c", "ica": "#9467bd",
                  "aam": "#8c564b", "classifier": "#7f7f7f", "neurons": "#17becf"}
FAMILY_LABELS = {"beta_vae": "β-VAE", "vae": "VAE", "ae": "AE", "pca": "PCA", "ica": "ICA", "aam": "AAM",
                 "classifier": "classifier", "neurons": "neurons"}
POPULATION_COLOURS = ("#333333", "#e377c2", "#bcbd22", "#17becf")


def family_label(family: str) -> str:
    return FAMILY_LABELS.get(family, family)


def family_colour(family: str) -> str:
    return FAMILY_COLOURS.get(family, "#444444")


def new_figure(width: float, height: float):
    """A matplotlib Figure (inches) attached to its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path) -> Path:
    """Write ``fig`` as PNG at ``path`` atomically; returns the path."""
    return save_png(fig, path, DPI)


def _values(x, name: str) -> np.ndarray:
    """A 1-D float array without NaN (NaN entries are dropped: a score that was not defined)."""
    arr = as_real_array(x, name, ndim=1)
    if np.isinf(arr).any():
        raise DataError(f"{name}: contains inf")
    return arr[~np.isnan(arr)]


def _note(ax, text: str | None) -> None:
    """A statistic printed above the axes (never over the data)."""
    if text:
        ax.set_title(text, fontsize=7, loc="left")


def _jitter(n: int, width: float = 0.12) -> np.ndarray:
    return np.linspace(-width, width, n) if n > 1 else np.zeros(1)


def _style(ax) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)


# --------------------------------------------------------------------------- Fig 3b

def alignment_by_class(path, scores: dict, ceiling=None, ceiling_label: str = "neuron subsets",
                       note: str | None = None, ylabel: str = "alignment score") -> Path:
    """Fig 3b: alignment per model class against the neuron-subset ceiling.

    scores: family -> {"score": [n_models], "rotation": [n_models]} (a model's rotation control
    beside its score; NaN where a model had none). ceiling: alignment of random subsets of real
    neurons used as units [n_repeats] (drawn as a band: mean ± s.d., and its points).
    """
    if not scores:
        raise DataError("scores: no model has an alignment score to plot")
    fig = new_figure(max(3.6, 0.75 * len(scores) + 1.6), 3.0)
    ax = fig.add_subplot()
    legend = {"model": "model (bar: class mean)", "rotation": "its rotation control"}  # each label once
    for x, (family, rec) in enumerate(scores.items()):
        s = _values(rec["score"], f"scores[{family!r}].score")
        rot = as_real_array(rec.get("rotation", [np.nan] * s.size), f"scores[{family!r}].rotation", ndim=1)
        if rot.size != np.asarray(rec["score"]).size:
            raise DataError(f"scores[{family!r}]: {rot.size} rotation controls for {s.size} scores")
        colour = family_colour(family)
        if s.size:
            ax.bar(x, s.mean(), width=0.6, color=colour, alpha=0.25, edgecolor=colour)
            ax.scatter(x + _jitter(s.size), s, s=18, color=colour, zorder=3, label=legend.pop("model", None))
        rot = rot[~np.isnan(rot)]
        if rot.size:
            ax.scatter(x + _jitter(rot.size), rot, s=18, marker="x", color="#555555", zorder=3,
                       label=legend.pop("rotation", None))
    if ceiling is not None:
        c = _values(ceiling, "ceiling")
        if c.size:
            lo, hi = c.mean() - c.std(), c.mean() + c.std()
            ax.axhspan(lo, hi, color=family_colour("neurons"), alpha=0.18, lw=0)
            ax.axhline(c.mean(), color=family_colour("neurons"), lw=1.2, label=ceiling_label)
    ax.set_xticks(range(len(scores)), [family_label(f) for f in scores], fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_ylim(0, 1.05)
    # three entries side by side need about 5 inches; a narrower figure (few classes) stacks them
    fig.legend(loc="outside upper center", ncols=3 if fig.get_figwidth() >= 5 else 1, fontsize=7, frameon=False)
    _note(ax, note)
    _style(ax)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- Fig 3c

def mixed_control(path, by_population: dict, control: dict) -> Path:
    """Fig 3c: the mixed controls.

    by_population: population -> {family: [alignment of each model]} (left panel, one colour per
    population: alignment should drop on a population whose neurons mix the factors).
    control: label -> {"observed": float, "mixed": [n_repeats]} (right panel: a model's alignment
    on the real responses against its alignment on linear mixtures of those responses).
    """
    if not by_population:
        raise DataError("by_population: nothing to plot")
    families = list(dict.fromkeys(f for pop in by_population.values() for f in pop))
    right = 1.2 * max(1, len(control)) + 0.8 if control else 0.0
    left = max(3.4, 0.7 * len(families) + 1.0)
    fig = new_figure(left + right, 3.2)
    grid = fig.add_gridspec(1, 2 if control else 1, width_ratios=[left, right] if control else None)
    ax = fig.add_subplot(grid[0])
    n_pop = len(by_population)
    width = 0.8 / n_pop
    for i, (pop, per_family) in enumerate(by_population.items()):
        colour = POPULATION_COLOURS[i % len(POPULATION_COLOURS)]
        label = f"{pop} population"
        for x, family in enumerate(families):
            s = _values(per_family.get(family, []), f"by_population[{pop!r}][{family!r}]")
            if not s.size:
                continue
            pos = x - 0.4 + width * (i + 0.5)
            ax.bar(pos, s.mean(), width=width * 0.9, color=colour, alpha=0.25, edgecolor=colour, label=label)
            label = None  # one legend entry per population
            ax.scatter(pos + _jitter(s.size, width * 0.25), s, s=12, color=colour, zorder=3)
    ax.set_xticks(range(len(families)), [family_label(f) for f in families], fontsize=8)
    ax.set_ylabel("alignment score", fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    ax.set_title("models on each population", fontsize=8)
    _style(ax)
    if not control:
        return save_figure(fig, path)

    ax2 = fig.add_subplot(grid[1], sharey=ax)
    labels = []
    for x, (label, rec) in enumerate(control.items()):
        mixed = _values(rec.get("mixed", []), f"control[{label!r}].mixed")
        if mixed.size:
            ax2.boxplot([mixed], positions=[x], widths=0.5, showfliers=False,
                        medianprops={"color": "#555555"}, boxprops={"color": "#555555"})
            ax2.scatter(x + _jitter(mixed.size, 0.1), mixed, s=8, color="#777777", zorder=3,
                        label="mixed responses" if x == 0 else None)
        observed = rec.get("observed")
        if observed is not None and np.isfinite(observed):
            ax2.scatter([x], [observed], s=60, marker="*", color=family_colour("beta_vae"), zorder=4,
                        label="real responses" if x == 0 else None)
        labels.append(label)
    ax2.set_xticks(range(len(labels)), labels, fontsize=7)
    ax2.set_xlim(-0.6, max(0.6, len(labels) - 0.4))
    ax2.set_title("mixed-responses control", fontsize=8)
    ax2.legend(fontsize=7, frameon=False, loc="upper right")
    _style(ax2)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- Fig 3d/e

def udr_vs_alignment(path, udr, alignment, beta, note: str | None = None) -> Path:
    """Fig 3d: UDR (no neural data) against alignment (neural data), one point per model, coloured by β."""
    udr = as_real_array(udr, "udr", ndim=1)
    alignment = as_real_array(alignment, "alignment", ndim=1)
    beta = as_real_array(beta, "beta", ndim=1)
    if not (udr.size == alignment.size == beta.size) or udr.size == 0:
        raise DataError(f"udr, alignment and beta must be paired and non-empty, got {udr.size}, "
                        f"{alignment.size} and {beta.size} values")
    from matplotlib.colors import LogNorm, Normalize

    fig = new_figure(3.6, 3.0)
    ax = fig.add_subplot()
    positive = beta > 0
    norm = LogNorm(beta[positive].min(), max(beta.max(), beta[positive].min() * 1.01)) \
        if positive.all() and beta.max() > beta.min() else Normalize(beta.min(), beta.max() + 1e-9)
    points = ax.scatter(udr, alignment, c=beta, cmap="viridis", norm=norm, s=26, edgecolor="black", lw=0.4)
    bar = fig.colorbar(points, ax=ax, shrink=0.85)
    bar.set_label("β", fontsize=8)
    from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator

    levels = np.unique(beta)
    if levels.size <= 8:
        bar.ax.yaxis.set_major_locator(FixedLocator(levels))
    bar.ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    bar.ax.yaxis.set_minor_locator(NullLocator())
    bar.ax.tick_params(labelsize=7)
    if udr.size >= 2 and np.ptp(udr) > 0:
        slope, intercept = np.polyfit(udr, alignment, 1)
        xs = np.array([udr.min(), udr.max()])
        ax.plot(xs, intercept + slope * xs, color="#555555", lw=1, ls="--")
    ax.set_xlabel("UDR (no neural data)", fontsize=8)
    ax.set_ylabel("alignment score", fontsize=8)
    _note(ax, note)
    _style(ax)
    return save_figure(fig, path)


def running_correlation(path, thresholds, r, p_values, n) -> Path:
    """Fig 3e: Pearson r (UDR vs alignment) over the models with β <= threshold, for each threshold."""
    thresholds = as_real_array(thresholds, "thresholds", ndim=1)
    r = as_real_array(r, "r", ndim=1)
    p_values = as_real_array(p_values, "p_values", ndim=1)
    n = as_real_array(n, "n", ndim=1)
    if not (thresholds.size == r.size == p_values.size == n.size) or r.size == 0:
        raise DataError("thresholds, r, p_values and n must be paired and non-empty")
    fig = new_figure(3.6, 2.8)
    ax = fig.add_subplot()
    ax.plot(thresholds, r, color="#333333", lw=1.2, marker="o", ms=4)
    significant = p_values < 0.05
    ax.scatter(thresholds[significant], r[significant], s=40, facecolor="none", edgecolor=family_colour("beta_vae"),
               label="p < 0.05", zorder=3)
    for t, rr, k in zip(thresholds, r, n):
        ax.annotate(f"n={int(k)}", (t, rr), textcoords="offset points", xytext=(0, 6), fontsize=6, ha="center")
    if (thresholds > 0).all() and thresholds.max() / thresholds.min() > 8:
        ax.set_xscale("log")
    if thresholds.size <= 10:
        from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullLocator

        ax.xaxis.set_major_locator(FixedLocator(thresholds))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_locator(NullLocator())
    ax.axhline(0, color="#999999", lw=0.8)
    ax.set_ylim(-1.05, 1.1)
    ax.set_xlabel("largest β included", fontsize=8)
    ax.set_ylabel("Pearson r (UDR, alignment)", fontsize=8)
    if significant.any():
        ax.legend(fontsize=7, frameon=False, loc="lower right")
    _style(ax)
    return save_figure(fig, path)


def scatter_by_family(path, x, y, families, xlabel: str, ylabel: str, note: str | None = None) -> Path:
    """One point per model at (x, y), coloured by model class (e.g. MIG against alignment)."""
    x = as_real_array(x, "x", ndim=1)
    y = as_real_array(y, "y", ndim=1)
    if not (x.size == y.size == len(families)) or x.size == 0:
        raise DataError(f"x, y and families must be paired and non-empty, got {x.size}, {y.size} and "
                        f"{len(families)} values")
    fig = new_figure(3.8, 3.0)
    ax = fig.add_subplot()
    for family in dict.fromkeys(families):
        keep = np.array([f == family for f in families])
        ax.scatter(x[keep], y[keep], s=24, color=family_colour(family), edgecolor="black", lw=0.4,
                   label=family_label(family))
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.legend(fontsize=7, frameon=False, loc="best")
    _note(ax, note)
    _style(ax)
    return save_figure(fig, path)


def factor_heatmap(path, values, row_labels, col_labels, note: str | None = None) -> Path:
    """A grid of scores in [0, 1], rows x columns (e.g. models x factors), each cell printed."""
    values = as_real_array(values, "values", ndim=2)
    n_rows, n_cols = values.shape
    if (n_rows, n_cols) != (len(row_labels), len(col_labels)) or values.size == 0:
        raise DataError(f"values must be [rows, columns] = [{len(row_labels)}, {len(col_labels)}] and non-empty, "
                        f"got {list(values.shape)}")
    if not np.isfinite(values).all():
        raise DataError("values: contains NaN or inf")
    fig = new_figure(1.6 + 0.6 * n_cols, 1.2 + 0.26 * n_rows)
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=6,
                color="white" if v < 0.6 else "black")
    ax.set_xticks(range(n_cols), [str(c) for c in col_labels], rotation=40, ha="right", fontsize=7)
    ax.set_yticks(range(n_rows), [str(r) for r in row_labels], fontsize=7)
    fig.colorbar(image, ax=ax, shrink=0.8).ax.tick_params(labelsize=7)
    _note(ax, note)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- explained variance

def explained_variance(path, panels: dict) -> Path:
    """Cross-validated R^2 per neuron, one box per model, one panel per population.

    panels: population -> {model label: (family, r2 [n_neurons])}.
    """
    panels = {k: v for k, v in panels.items() if v}
    if not panels:
        raise DataError("panels: no model has explained-variance scores to plot")
    n_models = max(len(v) for v in panels.values())
    fig = new_figure(max(3.6, 0.42 * n_models + 1.2), 1.0 + 2.2 * len(panels))
    axes = fig.subplots(len(panels), 1, squeeze=False, sharey=True)[:, 0]
    for ax, (pop, models) in zip(axes, panels.items()):
        data, colours = [], []
        for label, (family, r2) in models.items():
            data.append(_values(r2, f"panels[{pop!r}][{label!r}]"))
            colours.append(family_colour(family))
        parts = ax.boxplot(data, positions=range(len(data)), widths=0.6, showfliers=False, patch_artist=True,
                           medianprops={"color": "black"})
        for box, colour in zip(parts["boxes"], colours):
            box.set_facecolor(colour)
            box.set_alpha(0.45)
        for x, (values, colour) in enumerate(zip(data, colours)):
            ax.scatter(x + _jitter(values.size, 0.18), values, s=4, color=colour, zorder=3)
        ax.set_xticks(range(len(data)), list(models), fontsize=7, rotation=35, ha="right")
        ax.axhline(0, color="#999999", lw=0.8)
        ax.set_ylabel("cross-validated R²", fontsize=8)
        ax.set_title(f"{pop} population", fontsize=8)
        _style(ax)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- permutation nulls

def permutation_nulls(path, panels: list[dict], n_cols: int = 2) -> Path:
    """Histograms of permutation nulls with a line at the observed value.

    panels: dicts with "title", "null" [B], "observed" (float) and "p" (float or None).
    """
    if not panels:
        raise DataError("panels: no permutation null to plot")
    n_rows = -(-len(panels) // n_cols)
    fig = new_figure(2.5 * n_cols, 1.0 + 1.75 * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels):
        null = _values(panel["null"], f"null of {panel['title']!r}")
        observed = float(panel["observed"])
        if null.size:
            ax.hist(null, bins=min(40, max(8, null.size // 10)), color="#aaaaaa", edgecolor="white", lw=0.3)
        ax.axvline(observed, color=family_colour("beta_vae"), lw=1.5)
        lo = min(null.min() if null.size else observed, observed)
        hi = max(null.max() if null.size else observed, observed)
        margin = 0.08 * (hi - lo) if hi > lo else 0.05
        ax.set_xlim(lo - margin, hi + margin)
        p = panel.get("p")
        suffix = "" if p is None else f"\nobserved {observed:.3g}, p = {p:.3g} (B = {null.size})"
        ax.set_title(f"{panel['title']}{suffix}", fontsize=7)
        ax.set_yticks([])
        _style(ax)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- tuning of matched pairs

def tuning_scatter(path, panels: list[dict], n_cols: int = 4) -> Path:
    """Firing rate against unit value for matched (unit, neuron) pairs.

    panels: dicts with "title", "unit" [S] (unit values over stimuli) and "rate" [S] (spikes/s).
    A least-squares line is drawn through each cloud.
    """
    if not panels:
        raise DataError("panels: no matched pair to plot")
    n_cols = min(n_cols, len(panels))
    n_rows = -(-len(panels) // n_cols)
    fig = new_figure(1.9 * n_cols + 0.4, 0.4 + 1.75 * n_rows)
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, panel in zip(axes, panels):
        x = as_real_array(panel["unit"], f"unit of {panel['title']!r}", ndim=1)
        y = as_real_array(panel["rate"], f"rate of {panel['title']!r}", ndim=1)
        if x.size != y.size:
            raise DataError(f"{panel['title']!r}: {x.size} unit values but {y.size} rates")
        ax.scatter(x, y, s=3, color="#333333", alpha=0.5, lw=0)
        if x.size >= 2 and np.ptp(x) > 0:
            slope, intercept = np.polyfit(x, y, 1)
            xs = np.array([x.min(), x.max()])
            ax.plot(xs, intercept + slope * xs, color=family_colour("beta_vae"), lw=1.2)
        ax.set_title(panel["title"], fontsize=7)
        ax.set_xlabel("unit value", fontsize=7)
        ax.set_ylabel("rate (spikes/s)", fontsize=7)
        _style(ax)
        ax.tick_params(labelsize=6)
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    return save_figure(fig, path)


# --------------------------------------------------------------------------- Fig 7c

def cosine_distances(path, distances: dict, note: str | None = None) -> Path:
    """Fig 7c: per-stimulus cosine distance between true and decoded latents, one box per model.

    distances: label -> (family, distances [N_test]). Lower is better; the bar marks the median.
    """
    if not distances:
        raise DataError("distances: no reconstruction to plot")
    fig = new_figure(max(3.6, 0.6 * len(distances) + 1.4), 3.0)
    ax = fig.add_subplot()
    for x, (label, (family, d)) in enumerate(distances.items()):
        d = _values(d, f"distances[{label!r}]")
        colour = family_colour(family)
        ax.bar(x, np.median(d), width=0.6, color=colour, alpha=0.3, edgecolor=colour)
        ax.scatter(x + _jitter(d.size, 0.2), d, s=6, color=colour, zorder=3)
    ax.set_xticks(range(len(distances)), list(distances), fontsize=7, rotation=30, ha="right")
    ax.axhline(1.0, color="#999999", lw=0.8, ls=":")
    ax.set_ylabel("cosine distance (true, decoded)", fontsize=8)
    _note(ax, note)
    _style(ax)
    return save_figure(fig, path)
