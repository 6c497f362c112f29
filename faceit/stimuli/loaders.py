"""Loading face images from disk: a folder of png/jpg files, the CelebA layout, or an .npz archive.

Every image is centre-cropped to a square and resized to the working size. Anything wrong
with the input raises :class:`~faceit.errors.DataError` naming the file and the problem.
"""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from .._validation import as_real_array, check_finite
from ..errors import ConfigError, DataError
from .container import Stimuli
from .worlds import check_size

logger = logging.getLogger("faceit.stimuli")

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg"})
CELEBA_IMAGES = "img_align_celeba"
CELEBA_ATTRIBUTES = "list_attr_celeba.txt"
CELEBA_PARTITION = "list_eval_partition.txt"
CELEBA_LANDMARKS = "list_landmarks_align_celeba.txt"  # optional: 5 points per face
CELEBA_PARTITIONS = {"train": 0, "valid": 1, "test": 2}


def load_images(path, size: int = 64, *, partition: str | None = None, limit: int | None = None,
                progress: bool | None = None) -> Stimuli:
    """Load face images as Stimuli with images uint8 [N, size, size, 3].

    path: one of
      - a folder of .png/.jpg/.jpeg files: ids are the file names without extension, sorted;
        other files are skipped (and counted in a log message);
      - a CelebA folder holding ``img_align_celeba/``, ``list_attr_celeba.txt`` and
        ``list_eval_partition.txt``: the 40 attributes (+1/-1) become the factors and
        ``labels["partition"]`` holds 0 (train), 1 (valid), 2 (test); the 5 landmarks of
        ``list_landmarks_align_celeba.txt`` are loaded too when that file is there;
      - an .npz archive with ``images`` [N, H, W, 3] (or [N, H, W] grey; uint8, or float in
        [0, 1]) and optionally ``ids`` [N], ``factors`` [N, F], ``factor_names`` [F],
        ``landmarks`` [N, L, 2] (pixel x, y; moved with the crop and resize) and per-image
        labels ``label_<name>`` [N] (what :meth:`Stimuli.save` writes).
    partition: CelebA only, "train", "valid" or "test" (default: all).
    limit: keep only the first ``limit`` images (after sorting and partition filtering).
    Each image is centre-cropped to a square and resized (Lanczos) to ``size`` x ``size``.
    """
    size = check_size(size)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ConfigError(f"limit must be a positive integer or None, got {limit!r}")
    if partition is not None and partition not in CELEBA_PARTITIONS:
        raise ConfigError(f"partition={partition!r} is not one of {sorted(CELEBA_PARTITIONS)} or None")
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() != ".npz":
            raise DataError(f"{path}: expected a folder of images, a CelebA folder or an .npz archive")
        if partition is not None:
            raise ConfigError("partition applies to CelebA folders only")
        return _load_npz(path, size, limit, progress)
    if (path / CELEBA_IMAGES).is_dir():
        return _load_celeba(path, size, partition, limit, progress)
    if partition is not None:
        raise ConfigError(f"partition applies to CelebA folders only; {path} has no {CELEBA_IMAGES}/ folder")
    return _load_folder(path, size, limit, progress)


# -- decoding, cropping, resizing ------------------------------------------------------------------

def _crop_box(width: int, height: int) -> tuple[int, int, int]:
    """(left, top, side) of the centred square crop."""
    side = min(width, height)
    return (width - side) // 2, (height - side) // 2, side


def _fit(image, size: int) -> np.ndarray:
    """A PIL image centre-cropped and resized to uint8 [size, size, 3]."""
    from PIL import Image

    if image.mode != "RGB":
        image = image.convert("RGB")
    left, top, side = _crop_box(*image.size)
    if (side, side) == image.size == (size, size):
        return np.asarray(image, dtype=np.uint8)
    out = image.resize((size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side))
    return np.asarray(out, dtype=np.uint8)


_GREY_16_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def _eight_bit(image, file: Path):
    """16-bit greyscale (PIL modes I;16, I) scaled to 8 bits, which PIL's convert("RGB") would clip at 255."""
    from PIL import Image

    if image.mode == "F":
        raise DataError(f"{file}: floating-point pixels (PIL mode F); save the image with 8- or 16-bit pixels")
    if image.mode not in _GREY_16_BIT:
        return image
    values = np.asarray(image).astype(np.int64)
    if values.min() < 0 or values.max() > 65535:
        raise DataError(f"{file}: integer pixels outside 0-65535 (PIL mode {image.mode}); save it as 8- or 16-bit")
    return Image.fromarray(((values * 255 + 32767) // 65535).astype(np.uint8), mode="L")


def _read_image(file: Path, size: int) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Decode one image file to uint8 [size, size, 3] and its crop box (left, top, side) in the
    file's own pixels; DataError names the file if it cannot."""
    from PIL import Image, UnidentifiedImageError

    try:
        if file.stat().st_size == 0:
            raise DataError(f"{file}: file is empty")
        with Image.open(file) as im:
            box = _crop_box(*im.size)
            im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale that is still >= size
            im.load()
            return _fit(_eight_bit(im, file), size), box
    except DataError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise DataError(f"{file}: cannot decode image ({exc})") from None


def _read_all(files: list[Path], size: int, progress: bool | None, what: str) -> tuple[np.ndarray, np.ndarray]:
    """images uint8 [N, size, size, 3] and crop boxes int [N, 3] (left, top, side)."""
    images = np.empty((len(files), size, size, 3), dtype=np.uint8)
    boxes = np.empty((len(files), 3), dtype=np.int64)
    show = progress if progress is not None else len(files) > 2000
    for i, file in enumerate(tqdm(files, desc=f"loading {what}", unit="img", disable=not show)):
        images[i], boxes[i] = _read_image(file, size)
    return images, boxes


def _move_landmarks(landmarks: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """Landmarks [N, L, 2] in source pixels -> pixels of the cropped, resized image.

    boxes: [N, 3] or [3] (left, top, side). Pixel centres map to pixel centres: x' = (x + 0.5 - left) * size / side - 0.5.
    """
    boxes = np.broadcast_to(np.asarray(boxes, dtype=np.float64), (landmarks.shape[0], 3))
    offset = boxes[:, None, :2]
    scale = size / boxes[:, None, 2:3]
    return (landmarks + 0.5 - offset) * scale - 0.5


def _check_unique(ids: list[str], files: list[Path]) -> None:
    seen: dict[str, Path] = {}
    for i, f in zip(ids, files):
        if i in seen:
            raise DataError(f"{f}: duplicate id {i!r} (also {seen[i].name}); image ids are file names "
                            "without extension and must be unique")
        seen[i] = f


# -- a plain folder --------------------------------------------------------------------------------

def _load_folder(folder: Path, size: int, limit: int | None, progress) -> Stimuli:
    entries = sorted(p for p in folder.iterdir() if p.is_file())
    files = [p for p in entries if p.suffix.lower() in IMAGE_EXTENSIONS]
    skipped = len(entries) - len(files)
    if skipped:
        logger.warning("%s: skipped %d file(s) without an image extension (%s)", folder, skipped,
                       ", ".join(sorted(IMAGE_EXTENSIONS)))
    if not files:
        raise DataError(f"{folder}: no image files ({', '.join(sorted(IMAGE_EXTENSIONS))}) in this folder")
    ids = [p.stem for p in files]
    _check_unique(ids, files)
    if limit is not None:
        files, ids = files[:limit], ids[:limit]
    images, _ = _read_all(files, size, progress, folder.name or str(folder))
    return Stimuli(images=images, ids=np.array(ids), meta={"source": str(folder)})


# -- CelebA ----------------------------------------------------------------------------------------

def _read_lines(file: Path) -> list[str]:
    if not file.is_file():
        raise DataError(f"{file}: missing (a CelebA folder needs {CELEBA_ATTRIBUTES} and {CELEBA_PARTITION} "
                        f"beside {CELEBA_IMAGES}/)")
    try:
        lines = [line.strip() for line in file.read_text().splitlines()]
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{file}: cannot read ({exc})") from None
    lines = [line for line in lines if line]
    if not lines:
        raise DataError(f"{file}: file is empty")
    return lines


def _parse_table(file: Path, kind: str) -> tuple[list[str], list[str], np.ndarray]:
    """(file names, column names, integer values [N, C]) from a CelebA table: a count line,
    a line of column names, then '<file name> <C integers>' per image."""
    lines = _read_lines(file)
    if len(lines) < 2:
        raise DataError(f"{file}: expected a count line and a line of {kind} names")
    try:
        count = int(lines[0])
    except ValueError:
        raise DataError(f"{file}: line 1 should be the number of images, got {lines[0][:40]!r}") from None
    names = lines[1].split()
    rows = lines[2:]
    if count != len(rows):
        raise DataError(f"{file}: line 1 says {count} images but {len(rows)} rows follow")
    files, values = [], np.empty((len(rows), len(names)), dtype=np.int64)
    for k, line in enumerate(rows):
        parts = line.split()
        if len(parts) != len(names) + 1:
            raise DataError(f"{file}: line {k + 3} has {len(parts) - 1} values, expected {len(names)}")
        try:
            values[k] = [int(v) for v in parts[1:]]
        except ValueError:
            raise DataError(f"{file}: line {k + 3} has a value that is not an integer") from None
        files.append(parts[0])
    return files, names, values


def _parse_attributes(file: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(file names, 40 attribute names, values [N, 40] of +1/-1) from list_attr_celeba.txt."""
    files, names, values = _parse_table(file, "attribute")
    bad = np.flatnonzero(~np.isin(values, (-1, 1)).all(axis=1))
    if bad.size:
        raise DataError(f"{file}: line {bad[0] + 3} has a value other than -1 or 1")
    return files, names, values


def _parse_landmarks(file: Path, names: list[str]) -> tuple[list[str], np.ndarray]:
    """(landmark names, landmarks float [N, L, 2]) for the images ``names``, from list_landmarks_align_celeba.txt."""
    files, columns, values = _parse_table(file, "landmark")
    if len(columns) % 2:
        raise DataError(f"{file}: expected x and y columns per landmark, got {len(columns)} columns")
    row = {f: k for k, f in enumerate(files)}
    missing = [n for n in names if n not in row]
    if missing:
        raise DataError(f"{file}: no landmarks for {len(missing)} image(s), e.g. {missing[0]}")
    points = values[[row[n] for n in names]].reshape(len(names), -1, 2).astype(np.float64)
    return [c.rsplit("_", 1)[0] for c in columns[::2]], points


def _parse_partition(file: Path) -> dict[str, int]:
    out = {}
    for k, line in enumerate(_read_lines(file)):
        parts = line.split()
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise DataError(f"{file}: line {k + 1} should be '<file name> <0|1|2>', got {line[:60]!r}")
        out[parts[0]] = int(parts[1])
    return out


def _load_celeba(root: Path, size: int, partition: str | None, limit: int | None, progress) -> Stimuli:
    attr_file, part_file = root / CELEBA_ATTRIBUTES, root / CELEBA_PARTITION
    names, attr_names, values = _parse_attributes(attr_file)
    parts = _parse_partition(part_file)
    missing = [n for n in names if n not in parts]
    if missing:
        raise DataError(f"{part_file}: no partition for {len(missing)} image(s) listed in {CELEBA_ATTRIBUTES}, "
                        f"e.g. {missing[0]}")
    part = np.array([parts[n] for n in names], dtype=np.int64)
    keep = np.arange(len(names)) if partition is None else np.flatnonzero(part == CELEBA_PARTITIONS[partition])
    if limit is not None:
        keep = keep[:limit]
    if keep.size == 0:
        raise DataError(f"{root}: no images in partition {partition!r}")
    files = [root / CELEBA_IMAGES / names[i] for i in keep]
    for f in files:
        if not f.is_file():
            raise DataError(f"{f}: listed in {CELEBA_ATTRIBUTES} but missing")
    ids = [f.stem for f in files]
    _check_unique(ids, files)
    meta = {"source": str(root), "dataset": "celeba"}
    landmarks = None
    if (root / CELEBA_LANDMARKS).is_file():
        meta["landmark_names"], landmarks = _parse_landmarks(root / CELEBA_LANDMARKS, [names[i] for i in keep])
    images, boxes = _read_all(files, size, progress, "CelebA")
    if landmarks is not None:
        landmarks = _move_landmarks(landmarks, boxes, size)
    return Stimuli(images=images, ids=np.array(ids), factors=values[keep].astype(np.float64),
                   factor_names=attr_names, landmarks=landmarks, labels={"partition": part[keep]}, meta=meta)


# -- .npz ------------------------------------------------------------------------------------------

def _load_npz(file: Path, size: int, limit: int | None, progress) -> Stimuli:
    if file.stat().st_size == 0:
        raise DataError(f"{file}: file is empty")
    try:
        with np.load(file, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, KeyError) as exc:
        raise DataError(f"{file}: not a readable .npz archive ({exc})") from None
    if "images" not in arrays:
        raise DataError(f"{file}: no 'images' array (found {sorted(arrays) or 'none'})")
    images = _npz_images(arrays["images"], file)
    n = images.shape[0]
    stop = n if limit is None else min(n, limit)

    def column(key, ndim):
        if key not in arrays:
            return None
        arr = arrays[key]
        if arr.ndim != ndim or arr.shape[0] != n:
            raise DataError(f"{file}: '{key}' has shape {arr.shape}, expected {ndim}-D with {n} rows (one per image)")
        return arr[:stop]

    ids = column("ids", 1)
    if ids is not None and ids.dtype.kind not in "iuUS":
        raise DataError(f"{file}: 'ids' must be strings or integers, got dtype {ids.dtype}")
    factors = column("factors", 2)
    if factors is not None:
        factors = check_finite(as_real_array(factors, f"{file}: 'factors'"), f"{file}: 'factors'")
    factor_names = [str(s) for s in arrays["factor_names"]] if "factor_names" in arrays else []
    if factor_names and factors is None:
        raise DataError(f"{file}: 'factor_names' given without 'factors'")
    if factors is not None and factor_names and len(factor_names) != factors.shape[1]:
        raise DataError(f"{file}: {len(factor_names)} factor_names for {factors.shape[1]} factor columns")
    landmarks = column("landmarks", 3)
    if landmarks is not None:
        landmarks = check_finite(as_real_array(landmarks, f"{file}: 'landmarks'"), f"{file}: 'landmarks'")
        if landmarks.shape[2] != 2:
            raise DataError(f"{file}: 'landmarks' has shape {arrays['landmarks'].shape}, expected [N, L, 2]")

    h, w = images.shape[1:3]
    left, top, side = _crop_box(w, h)
    if (h, w) != (size, size):
        from PIL import Image

        out = np.empty((stop, size, size, 3), dtype=np.uint8)
        show = progress if progress is not None else stop > 5000
        for i in tqdm(range(stop), desc=f"resizing {file.name}", unit="img", disable=not show):
            out[i] = _fit(Image.fromarray(images[i]), size)
        images = out
        if landmarks is not None:
            landmarks = _move_landmarks(landmarks, (left, top, side), size)
    else:
        images = images[:stop]
    if ids is not None:
        ids = ids.astype(str)
        uniq, counts = np.unique(ids, return_counts=True)
        if uniq.size < ids.size:
            raise DataError(f"{file}: duplicate ids, e.g. {uniq[counts > 1][:5].tolist()}")
    labels = {key[len("label_"):]: column(key, 1) for key in arrays if key.startswith("label_")}
    meta = {}
    if "meta_json" in arrays:  # what Stimuli.save keeps of its meta
        try:
            meta = json.loads(str(arrays["meta_json"]))
        except json.JSONDecodeError as exc:
            raise DataError(f"{file}: 'meta_json' is not JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise DataError(f"{file}: 'meta_json' should hold a JSON object")
    numbered = ids is None or bool(arrays.get("ids_are_row_numbers", False))  # Stimuli.save records it
    return Stimuli(images=np.ascontiguousarray(images), ids=ids, factors=factors, factor_names=factor_names,
                   landmarks=landmarks, labels=labels, meta={**meta, "source": str(file)}, ids_are_row_numbers=numbered)


def _npz_images(images: np.ndarray, file: Path) -> np.ndarray:
    """The archive's images as uint8 [N, H, W, 3]."""
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise DataError(f"{file}: 'images' has shape {images.shape}, expected [N, H, W, 3] or [N, H, W] "
                        "(channels last)")
    if 0 in images.shape:
        raise DataError(f"{file}: 'images' is empty (shape {images.shape})")
    if images.dtype == np.uint8:
        pass
    elif images.dtype.kind == "f":
        if not np.isfinite(images).all():
            raise DataError(f"{file}: 'images' contains NaN or inf")
        if images.min() < 0 or images.max() > 1:
            raise DataError(f"{file}: float 'images' must lie in [0, 1], got [{images.min():.3g}, {images.max():.3g}]")
        images = np.round(images * 255).astype(np.uint8)
    elif images.dtype.kind in "iu":
        if images.min() < 0 or images.max() > 255:
            raise DataError(f"{file}: integer 'images' must lie in [0, 255]")
        images = images.astype(np.uint8)
    else:
        raise DataError(f"{file}: 'images' has dtype {images.dtype}, expected uint8 or float")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return images
