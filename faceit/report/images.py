"""Image grids as PNG: contact sheets, one-factor sweeps, latent traversals."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._io import atomic_path
from .._validation import check_positive_int
from ..errors import ConfigError, DataError


def _as_grid(images, n_cols: int | None) -> np.ndarray:
    """images [rows, cols, H, W, C] or [N, H, W, C] (C = 1 or 3; or [.., H, W] grey) as float [rows, cols, H, W, 3]."""
    arr = np.asarray(images)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"images: expected numbers, got dtype {arr.dtype}")
    if arr.ndim in (3, 4) and (arr.ndim == 3 or arr.shape[-1] not in (1, 3)):
        arr = arr[..., None]  # grey [.., H, W]
    if arr.ndim == 4:
        n = arr.shape[0]
        if n == 0:
            raise DataError("images: no images to draw")
        cols = n_cols or int(np.ceil(np.sqrt(n)))
        rows = -(-n // cols)
        pad = np.zeros((rows * cols - n, *arr.shape[1:]), dtype=arr.dtype)
        arr = np.concatenate([arr, pad]).reshape(rows, cols, *arr.shape[1:])
    if arr.ndim != 5 or arr.shape[-1] not in (1, 3) or 0 in arr.shape:
        raise DataError(f"images: expected [rows, cols, H, W, 3] or [N, H, W, 3], got shape {np.shape(images)}")
    if arr.shape[-1] == 1:
        arr = np.repeat(arr, 3, axis=-1)
    if arr.dtype.kind in "iu":  # 0-255 intensities in any integer type
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(f"images: integer pixels must be 0-255, got {arr.min()}-{arr.max()}")
        return arr.astype(np.float32) / 255.0
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise DataError("images: contain NaN or inf")
    if arr.min() < -0.01 or arr.max() > 1.01:  # rounding past the ends is clipped; 0-255 floats are not
        raise DataError(f"images: float pixels must be in [0, 1], got {arr.min():.3g}-{arr.max():.3g} "
                        "(for 0-255 values pass uint8)")
    return np.clip(arr, 0.0, 1.0)


def save_image_grid(images, path, row_labels=None, col_labels=None, *, n_cols: int | None = None,
                    title: str | None = None, cell_inches: float = 0.6, pad: int = 1,
                    background: float = 1.0, dpi: int = 100) -> Path:
    """Save images as one PNG grid, written atomically; returns the path.

    images: [rows, cols, H, W, 3] (e.g. one row per factor or latent unit, one column per step)
    or [N, H, W, 3] laid out ``n_cols`` per row (default: a square); uint8 0-255 or float 0-1.
    row_labels / col_labels: one string per row / column, drawn at the left / top.
    Each cell is drawn about ``cell_inches`` wide at ``dpi``: every image pixel becomes a whole
    number of PNG pixels (at least one), so pixels stay sharp.
    """
    grid = _as_grid(images, n_cols)
    rows, cols, h, w, _ = grid.shape
    if row_labels is not None and len(row_labels) != rows:
        raise DataError(f"row_labels: {len(row_labels)} labels for {rows} rows")
    if col_labels is not None and len(col_labels) != cols:
        raise DataError(f"col_labels: {len(col_labels)} labels for {cols} columns")
    pad = check_positive_int(pad, "pad", minimum=0)
    dpi = check_positive_int(dpi, "dpi")
    if not cell_inches > 0:
        raise ConfigError(f"cell_inches must be > 0, got {cell_inches!r}")

    # One mosaic with `pad` background pixels between cells.
    mosaic = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, 3), background, dtype=np.float32)
    for r in range(rows):
        for c in range(cols):
            mosaic[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = grid[r, c]

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # Each image pixel becomes a whole number of PNG pixels, so that small images stay crisp.
    zoom = max(1, round(cell_inches * dpi / w))
    ax_w, ax_h = mosaic.shape[1] * zoom / dpi, mosaic.shape[0] * zoom / dpi
    left = 0.0 if row_labels is None else 0.08 * max(len(str(s)) for s in row_labels) + 0.15
    top = (0.0 if col_labels is None else 0.25) + (0.0 if title is None else 0.3)
    margin = 0.05
    fig_w, fig_h = left + ax_w + margin, top + ax_h + margin
    fig = Figure(figsize=(fig_w, fig_h), dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((left / fig_w, margin / fig_h, ax_w / fig_w, ax_h / fig_h))
    ax.imshow(mosaic, interpolation="nearest", aspect="auto")
    ax.set_frame_on(False)
    ax.tick_params(length=0, labelsize=7, pad=2)
    ax.set_xticks([c * (w + pad) + (w - 1) / 2 for c in range(cols)] if col_labels is not None else [])
    ax.set_yticks([r * (h + pad) + (h - 1) / 2 for r in range(rows)] if row_labels is not None else [])
    if col_labels is not None:
        ax.xaxis.tick_top()
        ax.set_xticklabels([str(s) for s in col_labels])
    if row_labels is not None:
        ax.set_yticklabels([str(s) for s in row_labels])
    if title is not None:
        fig.suptitle(title, fontsize=9, y=1 - 0.04 / fig_h, va="top")

    return save_png(fig, path, dpi)


def save_png(fig, path, dpi: int) -> Path:
    """Write a matplotlib figure as PNG at ``path`` atomically, every text as plain text; returns the path.

    Labels carry user strings (model folders, file stems, neuron ids): a "$" must print as itself,
    not start mathtext. No faceit figure uses mathtext, so it is off for every text, and for the
    ticks matplotlib makes while drawing too.
    """
    import matplotlib
    from matplotlib.text import Text

    path = Path(path)
    with matplotlib.rc_context({"text.parse_math": False}), atomic_path(path, suffix=".png") as tmp:
        for text in fig.findobj(Text):
            text.set_parse_math(False)
        fig.savefig(tmp, format="png", dpi=dpi)
    return path
