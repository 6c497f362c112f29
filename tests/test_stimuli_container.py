"""The Stimuli container: validation of every field, subsets."""

import numpy as np
import pytest

from faceit.errors import DataError
from faceit.stimuli import Stimuli


def _images(n=4, h=8, w=8):
    return np.zeros((n, h, w, 3), np.uint8)


def test_defaults_and_accessors():
    s = Stimuli(_images(3), factors=np.arange(6.0).reshape(3, 2), factor_names=["a", "b"])
    assert list(s.ids) == ["000000", "000001", "000002"]
    assert len(s) == 3 and s.image_size == (8, 8)
    np.testing.assert_array_equal(s.factor("b"), [1, 3, 5])
    assert s.as_float().dtype == np.float32 and s.as_float().max() == 0
    assert Stimuli(_images(2), factors=np.zeros((2, 3))).factor_names == ["factor0", "factor1", "factor2"]


def test_subset_keeps_everything_aligned():
    s = Stimuli(_images(4), ids=["w", "x", "y", "z"], factors=np.arange(4.0)[:, None], factor_names=["f"],
                landmarks=np.arange(4.0).reshape(4, 1, 1).repeat(2, 2), labels={"identity": np.array([0, 0, 1, 1])},
                meta={"world": "default"})
    s.images[2] = 7
    sub = s.subset([2, 0])
    assert list(sub.ids) == ["y", "w"]
    np.testing.assert_array_equal(sub.factors[:, 0], [2, 0])
    np.testing.assert_array_equal(sub.landmarks[:, 0, 0], [2, 0])
    np.testing.assert_array_equal(sub.labels["identity"], [1, 0])
    assert (sub.images[0] == 7).all() and sub.meta == {"world": "default"}
    assert list(s.subset(np.array([False, True, True, False])).ids) == ["x", "y"]
    assert list(s.subset(slice(1, 3)).ids) == ["x", "y"]
    with pytest.raises(DataError, match="out of range"):
        s.subset([4])
    with pytest.raises(DataError, match="boolean mask"):
        s.subset(np.array([True, False]))


@pytest.mark.parametrize("kwargs, message", [
    ({"images": np.zeros((2, 8, 8, 3))}, "uint8"),
    ({"images": np.zeros((2, 8, 8), np.uint8)}, r"\[N, H, W, 3\]"),
    ({"images": np.zeros((0, 8, 8, 3), np.uint8)}, "no pixels"),
    ({"ids": ["a", "b", "c"]}, "expected 4 ids"),
    ({"ids": ["a", "b", "a", "c"]}, "duplicate id.*'a'"),
    ({"factors": np.zeros((3, 2))}, "3 rows but there are 4 images"),
    ({"factors": np.full((4, 2), np.nan)}, "NaN|nan"),
    ({"factors": np.zeros((4, 2)), "factor_names": ["a"]}, "1 names but factors has 2 columns"),
    ({"factors": np.zeros((4, 2)), "factor_names": ["a", "a"]}, "unique"),
    ({"factor_names": ["a"]}, "without factors"),
    ({"landmarks": np.zeros((4, 5, 3))}, r"\[4, L, 2\]"),
    ({"landmarks": np.full((4, 5, 2), np.inf)}, "inf"),
    ({"labels": {"identity": np.zeros(3)}}, r"labels\['identity'\]"),
])
def test_bad_fields_are_named(kwargs, message):
    kwargs = {"images": _images(4), **kwargs}
    with pytest.raises(DataError, match=message):
        Stimuli(**kwargs)
