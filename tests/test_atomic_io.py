"""faceit._io: every file appears whole or not at all, with the permissions the umask asks for."""

import os
import stat

import pytest

from faceit._io import atomic_path, atomic_write_text


def test_a_failed_write_leaves_nothing_and_the_old_file_untouched(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "first")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


@pytest.mark.parametrize("mask", [0o022, 0o077])
def test_files_follow_the_umask_in_force_when_written(tmp_path, mask):
    old = os.umask(mask)  # set after faceit._io was imported
    try:
        atomic_write_text(tmp_path / "f.txt", "x")
        with open(tmp_path / "g.txt", "w") as fh:  # what open() gives under the same umask
            fh.write("x")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "f.txt").stat().st_mode)
    assert mode == stat.S_IMODE((tmp_path / "g.txt").stat().st_mode) == 0o666 & ~mask
