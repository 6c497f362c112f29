"""load_images: folders of png/jpg, the CelebA layout, .npz archives, and every kind of bad input."""

import logging

import numpy as np
import pytest
from PIL import Image

from faceit.errors import ConfigError, DataError
from faceit.stimuli import load_images, synthetic_faces, synthetic_identities


def _save(path, array):
    Image.fromarray(np.asarray(array, dtype=np.uint8)).save(path)


def _pattern(h, w, seed=0):
    """A smooth image whose centre crop is easy to recognise: a bright square in the middle."""
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 255, w)[None, :]
    img[..., 1] = seed * 40
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img[top + side // 4: top + 3 * side // 4, left + side // 4: left + 3 * side // 4, 2] = 255
    return img


# -- folders -----------------------------------------------------------------------------------------

def test_folder_ids_sorted_and_images_resized(tmp_path, caplog):
    _save(tmp_path / "b.png", _pattern(40, 40, 1))
    _save(tmp_path / "a.jpg", _pattern(50, 30, 2))  # portrait: centre-cropped to 30x30
    _save(tmp_path / "c.PNG", _pattern(16, 16, 3))
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    with caplog.at_level(logging.WARNING, logger="faceit.stimuli"):
        s = load_images(tmp_path, size=16)
    assert list(s.ids) == ["a", "b", "c"]
    assert s.images.shape == (3, 16, 16, 3) and s.images.dtype == np.uint8
    assert s.factors is None and s.landmarks is None
    assert "skipped 1 file" in caplog.text
    # Same-size png comes back unchanged; the blue centre square survives the crop and resize.
    np.testing.assert_array_equal(s.images[2], _pattern(16, 16, 3))
    for img in s.images[:2]:
        assert img[8, 8, 2] > 200 and img[1, 1, 2] < 60 and img[8, 1, 2] < 60


def test_centre_crop_matches_pil_reference(tmp_path):
    src = np.random.default_rng(0).integers(0, 256, (30, 50, 3)).astype(np.uint8)
    _save(tmp_path / "x.png", src)
    got = load_images(tmp_path, size=20).images[0]
    ref = np.asarray(Image.fromarray(src).crop((10, 0, 40, 30)).resize((20, 20), Image.Resampling.LANCZOS))
    # Away from the border (where the loader's filter also sees the pixels just outside the crop)
    # the result is PIL's crop-then-resize.
    np.testing.assert_allclose(got[3:-3, 3:-3], ref[3:-3, 3:-3], atol=1)


def test_grey_and_rgba_images_become_rgb(tmp_path):
    Image.fromarray(np.full((20, 20), 100, np.uint8), mode="L").save(tmp_path / "g.png")
    Image.fromarray(np.full((20, 20, 4), 50, np.uint8), mode="RGBA").save(tmp_path / "r.png")
    s = load_images(tmp_path, size=16)
    assert s.images.shape == (2, 16, 16, 3)
    assert (s.images[0] == 100).all() and (s.images[1] == 50).all()


def test_folder_limit(tmp_path):
    for i in range(5):
        _save(tmp_path / f"{i}.png", _pattern(20, 20, i))
    assert list(load_images(tmp_path, size=16, limit=2).ids) == ["0", "1"]


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_images(tmp_path / "nothing")


def test_empty_folder(tmp_path):
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(DataError, match=f"{tmp_path}.*no image files"):
        load_images(tmp_path)


def test_empty_image_file(tmp_path):
    _save(tmp_path / "a.png", _pattern(20, 20))
    (tmp_path / "b.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"b\.png: file is empty"):
        load_images(tmp_path, size=16)


def test_undecodable_image(tmp_path):
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 10)
    with pytest.raises(DataError, match=r"bad\.jpg: cannot decode image"):
        load_images(tmp_path, size=16)


def test_truncated_image(tmp_path):
    _save(tmp_path / "t.png", np.random.default_rng(1).integers(0, 256, (64, 64, 3)))
    data = (tmp_path / "t.png").read_bytes()
    (tmp_path / "t.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"t\.png: cannot decode image"):
        load_images(tmp_path, size=16)


def test_duplicate_ids(tmp_path):
    _save(tmp_path / "face.png", _pattern(20, 20))
    _save(tmp_path / "face.jpg", _pattern(20, 20))
    with pytest.raises(DataError, match="duplicate id 'face'"):
        load_images(tmp_path, size=16)


def test_bad_arguments(tmp_path):
    _save(tmp_path / "a.png", _pattern(20, 20))
    with pytest.raises(ConfigError, match="size"):
        load_images(tmp_path, size=4)
    with pytest.raises(ConfigError, match="limit"):
        load_images(tmp_path, limit=0)
    with pytest.raises(ConfigError, match="partition"):
        load_images(tmp_path, partition="train")
    with pytest.raises(DataError, match="expected a folder"):
        load_images(tmp_path / "a.png")


# -- CelebA ------------------------------------------------------------------------------------------

ATTRS = ["5_o_Clock_Shadow", "Arched_Eyebrows", "Smiling", "Young"]


def _celeba(root, n=6, attrs=ATTRS, parts=None):
    (root / "img_align_celeba").mkdir(parents=True)
    rng = np.random.default_rng(0)
    values = rng.choice([-1, 1], size=(n, len(attrs)))
    parts = parts if parts is not None else [i % 3 for i in range(n)]
    lines = [str(n), " ".join(attrs)]
    for i in range(n):
        name = f"{i + 1:06d}.jpg"
        _save(root / "img_align_celeba" / name, _pattern(218, 178, i))  # CelebA's aligned size
        lines.append(name + "  " + " ".join(f"{v:2d}" for v in values[i]))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{i + 1:06d}.jpg {parts[i]}\n" for i in range(n)))
    return values


def test_celeba_layout(tmp_path):
    values = _celeba(tmp_path)
    s = load_images(tmp_path, size=32)
    assert s.images.shape == (6, 32, 32, 3)
    assert list(s.ids) == [f"{i:06d}" for i in range(1, 7)]
    assert s.factor_names == ATTRS
    np.testing.assert_array_equal(s.factors, values)
    np.testing.assert_array_equal(s.labels["partition"], [0, 1, 2, 0, 1, 2])
    assert s.images[:, 16, 16, 2].min() > 200  # the centre square, cropped from 178x218

    test = load_images(tmp_path, size=32, partition="test")
    assert list(test.ids) == ["000003", "000006"]
    np.testing.assert_array_equal(test.factors, values[[2, 5]])
    np.testing.assert_array_equal(test.images, s.images[[2, 5]])
    assert len(load_images(tmp_path, size=32, limit=4)) == 4


def test_celeba_landmarks_move_with_the_crop(tmp_path):
    _celeba(tmp_path, n=3)
    # The blue square of _pattern(218, 178) covers rows 64..152 and columns 44..132 (crop at top 20).
    inside = [(48, 68), (128, 68), (88, 106), (48, 144), (128, 144)]
    header = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    rows = [f"{i:06d}.jpg " + " ".join(f"{x} {y}" for x, y in inside) for i in (1, 2, 3)]
    (tmp_path / "list_landmarks_align_celeba.txt").write_text("3\n" + header + "\n" + "\n".join(rows) + "\n")
    s = load_images(tmp_path, size=64)
    assert s.landmarks.shape == (3, 5, 2)
    assert s.meta["landmark_names"] == ["lefteye", "righteye", "nose", "leftmouth", "rightmouth"]
    # Pixel centres map to pixel centres through the crop (x, y - 20) and the scale 64 / 178.
    np.testing.assert_allclose(s.landmarks[0, 2], [(88.5) * 64 / 178 - 0.5, (106 - 20 + 0.5) * 64 / 178 - 0.5])
    for i in range(3):
        for x, y in s.landmarks[i]:
            assert s.images[i, int(round(y)), int(round(x)), 2] > 200  # still inside the blue square

    part = load_images(tmp_path, size=64, partition="valid")
    np.testing.assert_allclose(part.landmarks, s.landmarks[[1]])


def test_celeba_missing_partition_file(tmp_path):
    _celeba(tmp_path)
    (tmp_path / "list_eval_partition.txt").unlink()
    with pytest.raises(DataError, match=r"list_eval_partition\.txt: missing"):
        load_images(tmp_path, size=32)


def test_celeba_bad_attribute_rows(tmp_path):
    _celeba(tmp_path)
    f = tmp_path / "list_attr_celeba.txt"
    lines = f.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0]  # a value short
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"list_attr_celeba\.txt: line 5 has 3 values, expected 4"):
        load_images(tmp_path, size=32)
    lines[4] = "000003.jpg 1 1 0 1"
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match="line 5 has a value other than -1 or 1"):
        load_images(tmp_path, size=32)
    lines[0] = "7"
    f.write_text("\n".join(lines))
    with pytest.raises(DataError, match="says 7 images but 6 rows"):
        load_images(tmp_path, size=32)


def test_celeba_missing_image_and_bad_partition(tmp_path):
    _celeba(tmp_path)
    (tmp_path / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.raises(DataError, match=r"000002\.jpg: listed in list_attr_celeba\.txt but missing"):
        load_images(tmp_path, size=32)
    (tmp_path / "list_eval_partition.txt").write_text("000001.jpg 5\n")
    with pytest.raises(DataError, match=r"list_eval_partition\.txt: line 1"):
        load_images(tmp_path, size=32)


def test_celeba_corrupt_image(tmp_path):
    _celeba(tmp_path)
    (tmp_path / "img_align_celeba" / "000004.jpg").write_bytes(b"garbage" * 50)
    with pytest.raises(DataError, match=r"000004\.jpg: cannot decode image"):
        load_images(tmp_path, size=32)


# -- .npz --------------------------------------------------------------------------------------------

def test_npz_round_trip_of_synthetic_faces(tmp_path):
    s = synthetic_faces(6, seed=1, size=64)
    np.savez(tmp_path / "faces.npz", images=s.images, ids=s.ids, factors=s.factors,
             factor_names=np.array(s.factor_names), landmarks=s.landmarks)
    same = load_images(tmp_path / "faces.npz", size=64)
    np.testing.assert_array_equal(same.images, s.images)
    np.testing.assert_array_equal(same.ids, s.ids)
    np.testing.assert_array_equal(same.factors, s.factors)
    assert same.factor_names == s.factor_names
    np.testing.assert_array_equal(same.landmarks, s.landmarks)

    # Downsizing moves the landmarks with the image: they match a render at the smaller size.
    small = load_images(tmp_path / "faces.npz", size=32)
    ref = synthetic_faces(6, seed=1, size=32)
    np.testing.assert_allclose(small.landmarks, ref.landmarks, atol=1e-9)
    diff = np.abs(small.images.astype(int) - ref.images.astype(int)).mean()
    assert diff < 6  # a resized render is close to a render at that size


def test_save_and_load_round_trip(tmp_path):
    s = synthetic_identities(3, 2, seed=0, size=32)
    path = s.save(tmp_path / "ids.npz")
    back = load_images(path, size=32)
    np.testing.assert_array_equal(back.images, s.images)
    np.testing.assert_array_equal(back.ids, s.ids)
    np.testing.assert_array_equal(back.factors, s.factors)
    np.testing.assert_array_equal(back.landmarks, s.landmarks)
    np.testing.assert_array_equal(back.labels["identity"], s.labels["identity"])
    assert back.factor_names == s.factor_names
    assert {k: v for k, v in back.meta.items() if k != "source"} == s.meta
    assert back.meta["source"] == str(path)
    assert [p.name for p in tmp_path.iterdir()] == ["ids.npz"]


def test_npz_crop_moves_landmarks(tmp_path):
    images = np.zeros((2, 20, 40, 3), np.uint8)
    landmarks = np.array([[[10.0, 5.0], [29.0, 19.0]]] * 2)  # x in [10, 30) survives the centre crop
    np.savez(tmp_path / "a.npz", images=images, landmarks=landmarks)
    s = load_images(tmp_path / "a.npz", size=40)  # crop to 20x20 at x0 = 10, then scale x2
    np.testing.assert_allclose(s.landmarks[0], [[0.5, 10.5], [38.5, 38.5]])


def test_npz_float_and_grey_images(tmp_path):
    np.savez(tmp_path / "f.npz", images=np.full((3, 16, 16), 0.5))
    s = load_images(tmp_path / "f.npz", size=16)
    assert s.images.shape == (3, 16, 16, 3) and (s.images == 128).all()
    assert list(s.ids) == ["000000", "000001", "000002"]


def test_npz_corrupt_archive(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 16, 16, 3), np.uint8))
    data = (tmp_path / "a.npz").read_bytes()
    (tmp_path / "a.npz").write_bytes(data[:100])
    with pytest.raises(DataError, match=r"a\.npz: not a readable \.npz archive"):
        load_images(tmp_path / "a.npz", size=16)
    (tmp_path / "b.npz").write_bytes(b"")
    with pytest.raises(DataError, match=r"b\.npz: file is empty"):
        load_images(tmp_path / "b.npz", size=16)


@pytest.mark.parametrize("arrays, message", [
    ({"pixels": np.zeros((2, 16, 16, 3))}, "no 'images' array"),
    ({"images": np.zeros((2, 3, 16, 16))}, r"shape \(2, 3, 16, 16\), expected \[N, H, W, 3\]"),
    ({"images": np.zeros((0, 16, 16, 3))}, "is empty"),
    ({"images": np.full((2, 16, 16, 3), 2.0)}, r"must lie in \[0, 1\]"),
    ({"images": np.full((2, 16, 16, 3), np.nan)}, "NaN"),
    ({"images": np.zeros((2, 16, 16, 3)), "ids": np.array(["a", "b", "c"])}, "'ids' has shape"),
    ({"images": np.zeros((2, 16, 16, 3)), "ids": np.array(["a", "a"])}, "duplicate ids"),
    ({"images": np.zeros((2, 16, 16, 3)), "factors": np.zeros((3, 2))}, "'factors' has shape"),
    ({"images": np.zeros((2, 16, 16, 3)), "factors": np.zeros((2, 2)), "factor_names": np.array(["x"])},
     "1 factor_names for 2"),
    ({"images": np.zeros((2, 16, 16, 3)), "landmarks": np.zeros((2, 5, 3))}, "expected \\[N, L, 2\\]"),
])
def test_npz_wrong_shapes(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=r"bad\.npz: .*" + message):
        load_images(tmp_path / "bad.npz", size=16)


def test_16_bit_grey_images_are_scaled_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 20 * 20).reshape(20, 20).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "a16.png")
    Image.fromarray((ramp / 257).round().astype(np.uint8), mode="L").save(tmp_path / "b8.png")
    s = load_images(tmp_path, size=20)
    assert Image.open(tmp_path / "a16.png").mode.startswith("I")
    assert np.abs(s.images[0].astype(int) - s.images[1].astype(int)).max() <= 1
    assert s.images[0].min() == 0 and s.images[0].max() == 255


def test_stimuli_save_needs_the_npz_name_load_images_reads(tmp_path):
    with pytest.raises(ConfigError, match="must end in .npz"):
        synthetic_faces(4, seed=0, size=32).save(tmp_path / "faces.dat")
    assert not (tmp_path / "faces.dat").exists()
