"""A .npy file's header read without trusting it: dtype, shape and data offset, checked against the file's
size before any array is opened, so a damaged header can neither crash a reader nor make it allocate more
than the file holds. Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
"""

from __future__ import annotations

import math
import tokenize
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_HEADER_BYTES = 10_000  # numpy's own default limit for headers it parses

# numpy parses the header dict with ast.literal_eval and, for old files, tokenize: a damaged header can
# raise any of these, not only ValueError
HEADER_ERRORS = (ValueError, SyntaxError, TypeError, tokenize.TokenError, RecursionError, MemoryError, EOFError)


@dataclass(frozen=True)
class NpyHeader:
    dtype: np.dtype
    shape: tuple[int, ...]
    fortran_order: bool
    data_offset: int  # bytes before the array data

    @property
    def data_bytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def read_npy_header(path: Path) -> NpyHeader:
    """Parse `path`'s header; ValueError (naming no file: the caller knows it) when it is damaged, when the
    file is shorter than the array it declares, or when the dtype holds Python objects."""
    try:
        with open(path, "rb") as file:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(file, max_header_size=MAX_HEADER_BYTES)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(file, max_header_size=MAX_HEADER_BYTES)
            else:
                raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported (1.0, 2.0)")
            shape, fortran_order, dtype = header
            offset = file.tell()
    except HEADER_ERRORS as error:
        raise ValueError(f"damaged .npy header ({type(error).__name__}: {error})") from error
    if any(n < 0 for n in shape):
        raise ValueError(f"negative dimension in shape {tuple(shape)}")
    if dtype.hasobject:
        raise ValueError(f"dtype {dtype} holds Python objects (refused: loading it would run pickle)")
    header = NpyHeader(dtype, tuple(shape), bool(fortran_order), offset)
    size = path.stat().st_size
    if offset + header.data_bytes > size:
        raise ValueError(
            f"truncated: shape {header.shape} of {dtype} needs {offset + header.data_bytes} bytes, the file has {size}"
        )
    return header
