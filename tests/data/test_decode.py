"""Safe decoding: every bad file gets a clear ImageDecodeError, every odd mode a correct conversion."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from xai_core.data import ImageDecodeError, decode_image, pil_to_tensor
from xai_core.data.decode import read_image_file
from xai_core.imaging import to_uint8


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_with_declared_size(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height but carries almost no data (a decompression bomb shape)."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "payload,message",
    [
        (b"", "empty"),
        (b"hello, I am text pretending to be a picture", "not an image"),
        (_png_with_declared_size(6000, 6000), "limit is 25,000,000 pixels"),
        (_png_with_declared_size(60000, 60000), "too large to decode safely"),
    ],
    ids=["empty", "text", "over-our-cap", "pillow-bomb"],
)
def test_bad_files_are_refused_with_a_reason(payload, message):
    with pytest.raises(ImageDecodeError, match=message):
        decode_image(payload)


def test_truncated_png_and_jpeg_are_refused():
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))
    for fmt in ("PNG", "JPEG"):
        data = _encode(picture, fmt)
        with pytest.raises(ImageDecodeError, match="damaged or truncated"):
            decode_image(data[: len(data) // 2])


def test_byte_size_cap():
    data = _encode(Image.new("L", (8, 8)))
    with pytest.raises(ImageDecodeError, match="limit is"):
        decode_image(data, max_bytes=10)


def test_unsupported_format_is_named():
    data = _encode(Image.new("RGB", (4, 4)), "PDF")
    with pytest.raises(ImageDecodeError):
        decode_image(data)


def test_modes_are_converted_exactly():
    # palette with a transparent index -> composited onto white
    palette_image = Image.new("P", (2, 1))
    palette_image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette_image.putpixel((0, 0), 0)
    palette_image.putpixel((1, 0), 1)
    data = _encode(palette_image, transparency=1)
    assert np.asarray(decode_image(data)).tolist() == [[[255, 0, 0], [255, 255, 255]]]

    # 16-bit grayscale -> min-max scaled to 8 bits
    sixteen = Image.fromarray(np.array([[0, 1000, 2000]], dtype=np.uint16))
    assert np.asarray(decode_image(_encode(sixteen))).tolist() == [[0, 128, 255]]

    # CMYK JPEG -> RGB; 1-bit -> L; LA -> L on white
    assert decode_image(_encode(Image.new("CMYK", (4, 4), (0, 0, 0, 0)), "JPEG")).mode == "RGB"
    assert decode_image(_encode(Image.new("1", (3, 3), 1))).mode == "L"
    la = Image.new("LA", (1, 1), (0, 0))
    assert np.asarray(decode_image(_encode(la))).tolist() == [[255]]


def test_exif_orientation_is_applied():
    picture = Image.new("RGB", (40, 20), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    decoded = decode_image(_encode(picture, "JPEG", exif=exif.tobytes()))
    assert decoded.size == (20, 40)


def test_animated_gif_gives_its_first_frame():
    frames = [Image.new("L", (5, 5), value) for value in (30, 200)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    decoded = decode_image(buffer.getvalue())
    assert decoded.size == (5, 5) and int(np.asarray(decoded.convert("L"))[0, 0]) == 30


def test_tensor_round_trip_and_tiny_images(tmp_path):
    picture = Image.fromarray(np.array([[[1, 2, 3]]], dtype=np.uint8))
    tensor = pil_to_tensor(decode_image(_encode(picture)))
    assert tensor.shape == (3, 1, 1)
    assert to_uint8(tensor).tolist() == [[[1, 2, 3]]]
    wide = tmp_path / "wide.png"
    Image.new("L", (10000, 10)).save(wide)
    assert read_image_file(wide).size == (10000, 10)
    with pytest.raises(ImageDecodeError, match="No such file"):
        read_image_file(tmp_path / "missing.png")
