"""A .npy file that grows one row at a time on disk, so long episodes never sit in memory.

The header is written with a fixed size (`HEADER_BYTES`) and a placeholder length; rows are appended as raw
bytes; `finish` rewrites the header in place with the final length. The result is an ordinary .npy file
(format 1.0) that `np.load(..., mmap_mode="r")` opens.
Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAGIC = b"\x93NUMPY\x01\x00"
HEADER_BYTES = 128  # magic (8) + header length (2) + padded dict; a multiple of 64 keeps the data aligned


def npy_header(dtype: np.dtype, shape: tuple[int, ...]) -> bytes:
    """A format-1.0 header of exactly HEADER_BYTES bytes for a C-ordered array."""
    descr = np.lib.format.dtype_to_descr(np.dtype(dtype))
    text = f"{{'descr': {descr!r}, 'fortran_order': False, 'shape': {tuple(shape)!r}, }}"
    room = HEADER_BYTES - len(MAGIC) - 2
    if len(text) + 1 > room:
        raise ValueError(f"npy header for shape {shape} does not fit in {HEADER_BYTES} bytes")
    text = text.ljust(room - 1) + "\n"
    return MAGIC + struct.pack("<H", room) + text.encode("latin1")


class NpyAppender:
    """Append rows of a fixed shape and dtype to `path`; call `finish()` to make the file valid."""

    def __init__(self, path: Path, row_shape: tuple[int, ...], dtype: np.dtype | type) -> None:
        self.path = Path(path)
        self.row_shape = tuple(int(n) for n in row_shape)
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._file: BinaryIO | None = open(self.path, "wb")  # noqa: SIM115 - stays open across append() calls
        with self._named_errors():
            self._file.write(npy_header(self.dtype, (0, *self.row_shape)))

    def append(self, row: np.ndarray) -> None:
        """Add one row of shape `row_shape`, cast to `dtype`."""
        if self._file is None:
            raise ValueError(f"{self.path}: already finished")
        row = np.asarray(row)
        if row.shape != self.row_shape:
            raise ValueError(f"{self.path.name}: row of shape {row.shape}, expected {self.row_shape}")
        with self._named_errors():
            self._file.write(np.ascontiguousarray(row, dtype=self.dtype).tobytes())
        self.length += 1

    def finish(self) -> None:
        """Write the final length into the header, flush to disk and close."""
        if self._file is None:
            return
        with self._named_errors():
            self._file.seek(0)
            self._file.write(npy_header(self.dtype, (self.length, *self.row_shape)))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
        self._file = None

    def abandon(self) -> None:
        """Close without finishing (the caller deletes the file). Never raises: on a full disk close()
        fails again flushing its buffer, and the caller must still get to delete the file."""
        file, self._file = self._file, None
        if file is not None:
            try:
                file.close()
            except OSError:
                pass

    @contextmanager
    def _named_errors(self) -> Iterator[None]:
        """OSError as "[Errno 28] No space left on device: '<path>'", not without the path."""
        try:
            yield
        except OSError as error:
            if error.filename is not None:
                raise
            raise OSError(error.errno, error.strerror or str(error), str(self.path)) from error
