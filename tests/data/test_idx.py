import numpy as np
import pytest

from xai_core.data.idx import IdxFormatError, read_idx, write_idx


@pytest.mark.parametrize("name", ["images-idx3-ubyte", "images-idx3-ubyte.gz"])
def test_idx_round_trip_plain_and_gzip(tmp_path, name):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / name, array)
    np.testing.assert_array_equal(read_idx(tmp_path / name), array)


def test_idx_rejects_bad_magic_and_truncation(tmp_path):
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(IdxFormatError, match="magic"):
        read_idx(tmp_path / "bad")
    write_idx(tmp_path / "good", np.zeros((2, 2), dtype=np.uint8))
    (tmp_path / "short").write_bytes((tmp_path / "good").read_bytes()[:-1])
    with pytest.raises(IdxFormatError, match="expected 4 data bytes"):
        read_idx(tmp_path / "short")


def test_idx_declared_size_is_checked_before_reading(tmp_path):
    import gzip
    import struct

    with gzip.open(tmp_path / "bomb.gz", "wb") as handle:
        handle.write(bytes([0, 0, 0x08, 3]) + struct.pack(">3I", 100000, 100000, 100000))
    with pytest.raises(IdxFormatError, match="over the"):
        read_idx(tmp_path / "bomb.gz")
