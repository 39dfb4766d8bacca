"""core.files: a file is replaced whole, with its final mode from the start, or left as it was."""

import os

import pytest

from core.files import locked, write_atomic


def test_a_file_is_written_whole_with_its_mode_or_left_as_it_was(tmp_path):
    path = tmp_path / "job.json"
    umask = os.umask(0o022)
    try:
        write_atomic(path, "old", mode=0o600)
        write_atomic(tmp_path / "plain.json", b"{}")  # no mode given: what open() would make
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o600 and (tmp_path / "plain.json").stat().st_mode & 0o777 == 0o644
    with pytest.raises(TypeError), locked(path), locked(path):  # re-entrant in one thread
        write_atomic(path, 12)  # not text: nothing is written
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["job.json", "job.json.lock", "plain.json"]
