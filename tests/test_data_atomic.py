"""Atomic writes: the new content appears whole or not at all, and no temp file stays behind."""

import json

import pytest

from worldsim.data.atomic import atomic_path, write_json_atomic, write_text_atomic


def test_writes_replace_the_old_content_and_leave_no_temp_file(tmp_path):
    path = tmp_path / "sub" / "result.json"
    write_json_atomic(path, {"a": 1})
    write_json_atomic(path, {"a": 2})
    assert json.loads(path.read_text()) == {"a": 2} and path.read_text().endswith("\n")
    write_text_atomic(tmp_path / "latest", "step_00000002")
    assert (tmp_path / "latest").read_text() == "step_00000002"
    assert sorted(p.name for p in tmp_path.rglob(".*")) == []


def test_a_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="boom"), atomic_path(path, keep_suffix=True) as temp:
        assert temp.suffix == ".png" and temp.parent == tmp_path and temp.name.startswith(".plot.tmp-")
        temp.write_bytes(b"half")
        raise RuntimeError("boom")
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["plot.png"]


def test_files_get_the_permissions_open_would_give_or_keep_the_old_ones(tmp_path):
    import os

    from worldsim.data.atomic import _umask

    path = tmp_path / "weights.safetensors"
    with atomic_path(path) as temp:  # a writer that creates owner-only files, as safetensors does
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT, 0o600)
        os.close(fd)
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    path.chmod(0o640)
    write_text_atomic(path, "new")
    assert path.stat().st_mode & 0o777 == 0o640
