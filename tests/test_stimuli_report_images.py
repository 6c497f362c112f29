"""faceit.report.images.save_image_grid: PNG contact sheets, sweeps and traversals."""

import numpy as np
import pytest
from PIL import Image

from faceit.errors import DataError
from faceit.report.images import save_image_grid
from faceit.stimuli import factor_sweeps


def _cells(rows, cols, size=8):
    """A grid whose cell (r, c) is a flat colour unique to it."""
    grid = np.zeros((rows, cols, size, size, 3), np.uint8)
    for r in range(rows):
        for c in range(cols):
            grid[r, c] = (40 + 50 * r, 40 + 40 * c, 200)
    return grid


def test_grid_png_holds_every_cell_in_place(tmp_path):
    grid = _cells(2, 3)
    path = save_image_grid(grid, tmp_path / "g.png", cell_inches=0.5, dpi=80)
    png = np.asarray(Image.open(path).convert("RGB")).astype(int)
    colours = {tuple(grid[r, c, 0, 0]): (r, c) for r in range(2) for c in range(3)}
    centres = {}
    for colour, rc in colours.items():
        ys, xs = np.nonzero((np.abs(png - colour) <= 2).all(-1))
        assert ys.size > 100, f"cell {rc} is missing from the PNG"
        centres[rc] = (ys.mean(), xs.mean())
    for c in range(3):  # row 0 above row 1, columns left to right
        assert centres[(0, c)][0] < centres[(1, c)][0]
    for r in range(2):
        assert centres[(r, 0)][1] < centres[(r, 1)][1] < centres[(r, 2)][1]
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file left behind


def test_flat_list_is_laid_out_in_rows(tmp_path):
    images = _cells(1, 5)[0].astype(np.float32) / 255  # five float images [5, H, W, 3]
    path = save_image_grid(images, tmp_path / "flat.png", n_cols=2)
    png = np.asarray(Image.open(path).convert("RGB")).astype(int)
    ys = [np.nonzero((np.abs(png - np.round(im[0, 0] * 255)) <= 2).all(-1))[0].mean() for im in images]
    assert ys[0] < ys[2] < ys[4] and abs(ys[0] - ys[1]) < 2  # three rows of two


def test_grey_images_and_labels(tmp_path):
    grey = np.random.default_rng(0).random((2, 4, 6, 6))
    path = save_image_grid(grey, tmp_path / "sub" / "grey.png", row_labels=["a", "b"],
                           col_labels=list("wxyz"), title="grey")
    assert Image.open(path).size[0] > 100


def test_sweep_sheet_is_small(tmp_path):
    images, values, names = factor_sweeps("default", size=32, n_steps=7)
    path = save_image_grid(images, tmp_path / "sweep.png", row_labels=names,
                           col_labels=[f"{v:+.2f}" for v in values])
    assert path.stat().st_size < 200_000


@pytest.mark.parametrize("images, kwargs, message", [
    (np.zeros((2, 3, 8, 8, 4)), {}, "expected"),
    (np.zeros((0, 8, 8, 3)), {}, "no images"),
    (np.full((1, 2, 8, 8, 3), np.nan), {}, "NaN"),
    (np.array([["a"]]), {}, "dtype"),
    (np.zeros((2, 3, 8, 8, 3)), {"row_labels": ["a"]}, "row_labels: 1 labels for 2 rows"),
    (np.zeros((2, 3, 8, 8, 3)), {"col_labels": ["a"]}, "col_labels: 1 labels for 3 columns"),
])
def test_bad_input(tmp_path, images, kwargs, message):
    with pytest.raises(DataError, match=message):
        save_image_grid(images, tmp_path / "x.png", **kwargs)
    assert not (tmp_path / "x.png").exists()


def test_any_integer_type_is_0_255_and_floats_must_be_0_1(tmp_path):
    grid = _cells(1, 2)
    as_uint8 = np.asarray(Image.open(save_image_grid(grid, tmp_path / "u8.png")).convert("RGB"))
    as_int64 = np.asarray(Image.open(save_image_grid(grid.astype(np.int64), tmp_path / "i64.png")).convert("RGB"))
    np.testing.assert_array_equal(as_int64, as_uint8)
    with pytest.raises(DataError, match=r"float pixels must be in \[0, 1\]"):
        save_image_grid(grid.astype(np.float32), tmp_path / "f.png")  # 0-255 floats would saturate
    with pytest.raises(DataError, match="integer pixels must be 0-255"):
        save_image_grid(grid.astype(np.int64) * 2, tmp_path / "i.png")


def test_labels_with_dollar_signs_print_as_themselves(tmp_path):
    path = save_image_grid(_cells(2, 1), tmp_path / "d.png", row_labels=["neuron a$_$b", "$x$"], col_labels=["$"])
    assert Image.open(path).size[0] > 0
