"""Readers for the IDX format of MNIST-family files (plain or gzip-compressed)."""

from __future__ import annotations

import gzip
import math
import struct
from pathlib import Path

import numpy as np

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class IdxFormatError(ValueError):
    """The file is not a well-formed IDX file."""


MAX_IDX_BYTES = 2 * 1024**3


def read_idx(path: str | Path, max_bytes: int = MAX_IDX_BYTES) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) into an array of its declared shape.

    The header is read first and the declared size checked against ``max_bytes`` before any
    data is decompressed, so a crafted file cannot exhaust memory.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        magic = handle.read(4)
        if len(magic) < 4 or magic[0] != 0 or magic[1] != 0:
            raise IdxFormatError(f"{path} is not an IDX file (bad magic number)")
        dtype_code, n_dims = magic[2], magic[3]
        if dtype_code not in _IDX_DTYPES:
            raise IdxFormatError(f"{path}: unknown IDX element type 0x{dtype_code:02x}")
        header = handle.read(4 * n_dims)
        if len(header) < 4 * n_dims:
            raise IdxFormatError(f"{path}: truncated header")
        shape = struct.unpack(f">{n_dims}I", header)
        dtype = np.dtype(_IDX_DTYPES[dtype_code])
        expected = math.prod(shape) * dtype.itemsize
        if expected > max_bytes:
            raise IdxFormatError(f"{path}: declares {expected:,} bytes of data, over the {max_bytes:,}-byte limit")
        data = handle.read(expected + 1)
    if len(data) != expected:
        raise IdxFormatError(f"{path}: expected {expected} data bytes for shape {shape}, found {len(data)}")
    return np.frombuffer(data, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed when the name ends in ``.gz``)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + array.tobytes())
