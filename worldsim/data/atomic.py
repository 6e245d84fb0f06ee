"""Write files so that readers see either the old content or the new, never a partial file: write a temp
file beside the target, flush it to disk, rename it over the target (atomic on one file system)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def temp_path(path: Path, keep_suffix: bool = False) -> Path:
    """The hidden temp name beside `path`: ".name.tmp-<pid>", or ".stem.tmp-<pid>.suffix" with keep_suffix
    (for writers that choose the format from the extension: matplotlib, pygame, OpenCV)."""
    path = Path(path)
    if keep_suffix:
        return path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


@contextmanager
def atomic_path(path: Path | str, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield a temp path to write `path`'s new content to; on success it is synced and renamed over
    `path`, on an error it is removed and `path` is left as it was. Creates the parent folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path, keep_suffix)
    try:
        yield tmp
        with open(tmp, "rb") as file:
            os.fsync(file.fileno())
        # Some writers (safetensors) create owner-only files; give the file what open() would have.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask, read without changing it (os.umask sets it, which races other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


def write_text_atomic(path: Path | str, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: Path | str, data: Any) -> None:
    """`data` as indented JSON with a trailing newline."""
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")
