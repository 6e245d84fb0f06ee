"""Files a dataset reader does not trust: damaged headers, lying meta.json, paths leaving the episode,
a full disk while recording. Every failure is an error naming the file, found before any work."""

from __future__ import annotations

import errno
import io
import json

import numpy as np
import pytest
from test_data_episode import write_episode
from test_data_fakes import FAKE_SPACE

from worldsim.data.check import check_dataset
from worldsim.data.clips import ClipDataset
from worldsim.data.dataset import DatasetError
from worldsim.data.episode import FRAMES_FILE, META_FILE, EpisodeError, read_episode
from worldsim.data.writer import EpisodeWriter


def edit_meta(path, **changes):
    meta = json.loads((path / META_FILE).read_text())
    meta.update(changes)
    (path / META_FILE).write_text(json.dumps(meta))


@pytest.mark.parametrize("changes, message", [
    ({"fps": float("nan")}, "'fps' must be a finite number > 0"),
    ({"fps": float("inf")}, "'fps' must be a finite number > 0"),
    ({"action_space": {"discrete": "abc", "continuous": ["dx"]}}, "discrete.*list of names"),
    ({"action_space": {"discrete": ["a", "b"], "continuous": [], "noop": 99}}, "noop 99"),
    ({"action_space": {"discrete": ["a"], "continuous": ["x"], "continuous_bound": -1}}, "continuous_bound"),
])
def test_meta_values_out_of_bounds_name_the_file(tmp_path, changes, message):
    path = write_episode(tmp_path)
    edit_meta(path, **changes)
    with pytest.raises(EpisodeError, match=rf"{META_FILE}.*{message}"):
        read_episode(path)


def test_a_length_beyond_the_arrays_is_found_before_any_work(tmp_path):
    write_episode(tmp_path, length=5)
    path = write_episode(tmp_path, length=5)
    edit_meta(path, length=10**12)
    with pytest.raises(DatasetError, match=rf"{path.name}/{FRAMES_FILE}.*shape"):
        ClipDataset(tmp_path, clip_length=3)


@pytest.mark.parametrize("target", ["/etc/passwd", "../../../etc/passwd", "../episode_000000/frames.npy"])
def test_extras_must_stay_inside_their_episode(tmp_path, target):
    write_episode(tmp_path)
    path = write_episode(tmp_path)
    edit_meta(path, extras={"pose": target})
    with pytest.raises(EpisodeError, match=rf"{META_FILE}.*outside"):
        read_episode(path)


def test_a_corrupt_npy_header_is_a_broken_episode_not_a_crash(tmp_path):
    good = write_episode(tmp_path)
    path = write_episode(tmp_path)
    data = (path / FRAMES_FILE).read_bytes()
    # an unclosed bracket: numpy's header parser raises tokenize.TokenError, not a ValueError
    (path / FRAMES_FILE).write_bytes(data.replace(b"3), }", b"3 , }"))
    report = check_dataset(tmp_path, progress=False)
    assert list(report.broken) == [path.name] and FRAMES_FILE in report.broken[path.name]
    assert good.name not in report.broken
    with pytest.raises(EpisodeError, match=FRAMES_FILE):
        read_episode(path)


def test_a_non_utf8_index_is_a_warning_naming_it(tmp_path):
    write_episode(tmp_path)
    (tmp_path / "index.json").write_bytes(b"\xff\xfe{}")
    report = check_dataset(tmp_path, progress=False)
    assert report.ok and any("index.json" in warning for warning in report.warnings)
    (tmp_path / "index.json").write_text(json.dumps({"episodes": [{"name": 1}, {"name": "x"}]}))
    assert any("index.json" in warning for warning in check_dataset(tmp_path, progress=False).warnings)


class _FullDisk(io.RawIOBase):
    """A file on a disk with no space left: every write fails with ENOSPC (as /dev/full does)."""

    def writable(self):
        return True

    def write(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_recording_names_the_file_and_leaves_no_partial_episode(tmp_path):
    writer = EpisodeWriter(tmp_path, FAKE_SPACE, fps=10, source={})
    writer.add(np.zeros((4, 3, 3), np.uint8), 0, np.zeros(1, np.float32))
    writer._frames._file = io.BufferedWriter(_FullDisk(), 64)  # the disk fills up from here on
    with pytest.raises(OSError) as error:
        for _ in range(10):  # the buffer fills, then every write (and close) fails
            writer.add(np.zeros((4, 3, 3), np.uint8), 0, np.zeros(1, np.float32))
    assert error.value.errno == errno.ENOSPC and FRAMES_FILE in str(error.value)
    writer.discard()
    assert list(tmp_path.iterdir()) == []
