"""A seeded corpus of hostile and unusual upload files, written to a temporary directory.

Each :class:`CorpusFile` says what decoding it must give: ``"image"`` (a valid picture, with its
expected size after EXIF rotation), ``"refused"`` (an ImageDecodeError whose message contains
``reason``) or ``"either"`` (damaged files a decoder may partly recover: a picture or a refusal).
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

CORPUS_SEED = 8
TRUNCATION_FRACTIONS = (0.0005, 0.01, 0.03, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.97, 0.995)


@dataclass(frozen=True)
class CorpusFile:
    path: Path
    expect: str  # "image", "refused" or "either"
    size: tuple[int, int] | None = None  # (width, height) of a decoded "image"
    reason: str = ""  # part of the refusal message of a "refused" file

    @property
    def name(self) -> str:
        return self.path.name


def encode(image: Image.Image | list[Image.Image], fmt: str, **options) -> bytes:
    """Pillow-encoded bytes; a list of images is saved as an animation / multi-page file."""
    buffer = io.BytesIO()
    if isinstance(image, list):
        image[0].save(buffer, format=fmt, save_all=True, append_images=image[1:], **options)
    else:
        image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, extra_chunks: bytes = b"") -> bytes:
    """A PNG whose header declares width x height (8-bit grey) but carries one byte of pixel data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + extra_chunks
        + _png_chunk(b"IDAT", zlib.compress(b"\x00"))
        + _png_chunk(b"IEND", b"")
    )


def _gif_declaring(width: int, height: int) -> bytes:
    """A GIF89a whose screen and only frame declare width x height, with an empty LZW stream."""
    screen = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + bytes(6)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def _bmp_declaring(width: int, height: int) -> bytes:
    """A 24-bit BMP header declaring width x height, followed by a few pixel bytes."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 14 + 40) + info + bytes(16)


def _jpeg_declaring(width: int, height: int, rng: np.random.Generator) -> bytes:
    """A real small JPEG whose SOF0 frame header is rewritten to declare width x height."""
    data = bytearray(encode(Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _tiff_declaring(width: int, height: int) -> bytes:
    """A little-endian baseline TIFF whose tags declare a width x height 8-bit grey strip of 4 bytes."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 12 * 8 + 4),
        (277, 3, 1, 1),
        (279, 4, 1, 4),
    ]
    directory = (
        struct.pack("<H", len(entries))
        + b"".join(
            struct.pack("<HHI", tag, kind, count) + (struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value))
            for tag, kind, count, value in entries
        )
        + struct.pack("<I", 0)
    )
    return b"II*\x00" + struct.pack("<I", 8) + directory + bytes(4)


def _webp_declaring(width: int, height: int, rng: np.random.Generator) -> bytes:
    """A lossless WebP whose VP8L header is rewritten to declare width x height (at most 16384 each)."""
    data = bytearray(encode(Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)), "WEBP", lossless=True))
    vp8l = data.index(b"VP8L") + 8  # signature byte, then 14 bits width-1, 14 bits height-1
    bits = int.from_bytes(data[vp8l + 1 : vp8l + 5], "little")
    bits = (bits & ~((1 << 28) - 1)) | (width - 1) | ((height - 1) << 14)
    data[vp8l + 1 : vp8l + 5] = bits.to_bytes(4, "little")
    return bytes(data)


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("digit.png", encode(Image.new("L", (8, 8)), "PNG"))
        archive.writestr("notes.txt", "a zip renamed to look like a picture")
    return buffer.getvalue()


def _tifffile_bytes(array: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, array, **options)
    return buffer.getvalue()


def _exif(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def _picture(rng: np.random.Generator, width: int = 40, height: int = 24) -> np.ndarray:
    """An RGB uint8 array [height, width, 3]: a gradient with seeded noise (JPEG-compressible)."""
    ramp = np.linspace(0, 200, width)[None, :, None] + np.linspace(0, 40, height)[:, None, None]
    noisy = ramp + rng.normal(0, 12, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def build_upload_corpus(directory: Path) -> list[CorpusFile]:
    """Write the corpus (about 230 files, seeded) into ``directory``; returns what each must decode to."""
    rng = np.random.default_rng(CORPUS_SEED)
    files: list[CorpusFile] = []

    def add(name: str, data: bytes, expect: str, size: tuple[int, int] | None = None, reason: str = "") -> None:
        path = directory / name
        path.write_bytes(data)
        files.append(CorpusFile(path, expect, size, reason))

    rgb = Image.fromarray(_picture(rng))
    grey = rgb.convert("L")
    size = rgb.size

    # every colour mode and container Pillow writes, each decoded to L or RGB
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(rng.integers(0, 256, size[::-1], dtype=np.uint8)))
    palette = rgb.quantize(16)
    sixteen = Image.fromarray(np.asarray(grey, dtype=np.uint16) * 257)
    thirty_two = Image.fromarray(np.asarray(grey, dtype=np.int32) * 1000 - 50_000)
    floats = Image.fromarray(np.asarray(grey, dtype=np.float32) / 7.0 - 3.0)
    valid = {
        "rgb.png": encode(rgb, "PNG"),
        "grey.png": encode(grey, "PNG"),
        "rgba.png": encode(rgba, "PNG"),
        "la.png": encode(rgba.convert("LA"), "PNG"),
        "palette.png": encode(palette, "PNG"),
        "palette-transparent.png": encode(palette, "PNG", transparency=3),
        "one-bit.png": encode(grey.convert("1"), "PNG"),
        "grey16.png": encode(sixteen, "PNG"),
        "int32.tif": encode(thirty_two, "TIFF"),
        "float32.tif": encode(floats, "TIFF"),
        "optimized.png": encode(rgb, "PNG", optimize=True),
        "rgb.jpg": encode(rgb, "JPEG", quality=90),
        "grey.jpg": encode(grey, "JPEG"),
        "progressive.jpg": encode(rgb, "JPEG", progressive=True),
        "cmyk.jpg": encode(rgb.convert("CMYK"), "JPEG"),
        "rgb.gif": encode(rgb.convert("P"), "GIF"),
        "transparent.gif": encode(palette, "GIF", transparency=0),
        "animated.gif": encode([grey.point(lambda v, k=k: (v + 60 * k) % 256) for k in range(4)], "GIF", duration=50, loop=0),
        "lossy.webp": encode(rgb, "WEBP", quality=60),
        "lossless.webp": encode(rgb, "WEBP", lossless=True),
        "rgba.webp": encode(rgba, "WEBP"),
        "animated.webp": encode([rgb, rgb.rotate(180)], "WEBP", duration=50),
        "rgb.tif": encode(rgb, "TIFF"),
        "rgb-lzw.tif": encode(rgb, "TIFF", compression="tiff_lzw"),
        "rgba.tif": encode(rgba, "TIFF"),
        "cmyk.tif": encode(rgb.convert("CMYK"), "TIFF"),
        "grey16.tif": encode(sixteen, "TIFF"),
        "la.tif": encode(rgba.convert("LA"), "TIFF"),
        "one-bit.tif": encode(grey.convert("1"), "TIFF", compression="group4"),
        "multipage.tif": encode([rgb, grey.convert("RGB"), rgb.rotate(180)], "TIFF"),
        "rgb.bmp": encode(rgb, "BMP"),
        "palette.bmp": encode(palette, "BMP"),
        "one-bit.bmp": encode(grey.convert("1"), "BMP"),
        "rgb.ppm": encode(rgb, "PPM"),
        "grey.pgm": encode(grey, "PPM"),
        "ycbcr.jpg": encode(rgb.convert("YCbCr"), "JPEG"),
        "packbits.tif": encode(rgb, "TIFF", compression="packbits"),
    }
    for name, data in valid.items():
        add(name, data, "image", size)
    add("ascii.pbm", b"P1\n3 2\n1 0 1\n0 1 0\n", "image", (3, 2))
    add("ascii.ppm", b"P3\n2 1\n255\n255 0 0 0 0 255\n", "image", (2, 1))
    add("constant-float.tif", encode(Image.new("F", (5, 4), 2.5), "TIFF"), "image", (5, 4))
    add("nan-float.tif", encode(Image.fromarray(np.array([[np.nan, 1.0], [np.inf, -np.inf]], dtype=np.float32)), "TIFF"), "image", (2, 2))
    add("all-nan-float.tif", encode(Image.fromarray(np.full((3, 3), np.nan, dtype=np.float32)), "TIFF"), "image", (3, 3))

    # channel counts Pillow does not write: 2, 4 (RGBA as extra samples) and 5 samples per pixel
    for channels in (2, 4, 5):
        array = rng.integers(0, 256, (12, 10, channels), dtype=np.uint8)
        photometric = "minisblack" if channels == 2 else "rgb"
        add(f"{channels}-channel.tif", _tifffile_bytes(array, photometric=photometric, planarconfig="contig"), "either", (10, 12))
        add(
            f"{channels}-channel-planar.tif",
            _tifffile_bytes(array.transpose(2, 0, 1), photometric=photometric, planarconfig="separate"),
            "either",
            (10, 12),
        )
    add("16bit-rgb.tif", _tifffile_bytes(rng.integers(0, 65536, (6, 7, 3), dtype=np.uint16), photometric="rgb"), "either", (7, 6))
    add("float64.tif", _tifffile_bytes(rng.normal(size=(6, 7)), photometric="minisblack"), "either", (7, 6))

    # EXIF orientations 1-8: 5-8 swap width and height
    for orientation in range(1, 9):
        turned = size[::-1] if orientation >= 5 else size
        add(f"exif-{orientation}.jpg", encode(rgb, "JPEG", exif=_exif(orientation)), "image", turned)
        add(f"exif-{orientation}.png", encode(rgb, "PNG", exif=_exif(orientation)), "image", turned)
        add(f"exif-{orientation}.webp", encode(rgb, "WEBP", exif=_exif(orientation)), "image", turned)

    # extreme shapes
    for width, height in ((1, 1), (10000, 10), (10, 10000), (1, 5000), (5000, 1), (2, 2)):
        add(f"shape-{width}x{height}.png", encode(Image.new("L", (width, height), 90), "PNG"), "image", (width, height))
        add(f"shape-{width}x{height}.jpg", encode(Image.new("RGB", (width, height), (9, 80, 200)), "JPEG"), "image", (width, height))
    add("large-but-allowed.png", encode(Image.new("RGB", (5000, 4000), (40, 90, 10)), "PNG"), "image", (5000, 4000))
    add("large-grey16.png", encode(Image.new("I;16", (4000, 4000), 700), "PNG"), "image", (4000, 4000))

    # decompression bombs: refused from the header, before any pixel is allocated
    bombs = {
        "bomb-png-100000.png": png_declaring(100_000, 100_000),
        "bomb-png-6000.png": png_declaring(6000, 6000),
        "bomb-png-65535x1.png": png_declaring(65535, 65535),
        "bomb-png-wide.png": png_declaring(2**31 - 1, 1),
        "bomb-real-6000.png": encode(Image.new("L", (6000, 6000)), "PNG"),
        "bomb-gif.gif": _gif_declaring(65535, 65535),
        "bomb-bmp.bmp": _bmp_declaring(100_000, 100_000),
        "bomb-bmp-tall.bmp": _bmp_declaring(30_000, -30_000),
        "bomb-jpeg.jpg": _jpeg_declaring(65000, 65000, rng),
        "bomb-tiff.tif": _tiff_declaring(200_000, 200_000),
        "bomb-ppm.ppm": b"P5\n100000 100000\n255\n" + bytes(64),
        "bomb-webp.webp": _webp_declaring(16383, 16383, rng),
    }
    for name, data in bombs.items():
        add(name, data, "refused", reason="pixels")
    add("bomb-ztxt.png", png_declaring(8, 8, _png_chunk(b"zTXt", b"Comment\x00\x00" + zlib.compress(bytes(64 * 2**20)))), "either")
    add("bomb-iccp.png", png_declaring(8, 8, _png_chunk(b"iCCP", b"icc\x00\x00" + zlib.compress(bytes(64 * 2**20)))), "either")
    add("over-byte-cap.png", b"\x89PNG\r\n\x1a\n" + rng.bytes(21 * 2**20), "refused", reason="limit is 20 MB")
    add("empty.png", b"", "refused", reason="empty")

    # not images at all, under image names
    impostors = {
        "text.png": b"hello, I am plain text pretending to be a picture\n",
        "page.jpg": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        "archive.png": _zip_bytes(),
        "document.jpg": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        "vector.png": b'<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"/>',
        "data.gif": json.dumps({"image": [[0, 1], [1, 0]]}).encode(),
        "script.webp": b"#!/bin/sh\nrm -rf /\n",
        "elf.bmp": b"\x7fELF\x02\x01\x01" + bytes(57),
        "nul.tif": bytes(4096),
        "png-magic-only.png": b"\x89PNG\r\n\x1a\n",
        "jpeg-magic-only.jpg": b"\xff\xd8\xff",
        "gif-magic-only.gif": b"GIF89a",
        "riff-only.webp": b"RIFF\x00\x00\x00\x00WEBP",
        "icon.ico": encode(rgb, "ICO"),
        "pdf-from-pillow.png": encode(rgb, "PDF"),
    }
    for name, data in impostors.items():
        add(name, data, "refused")
    for k, length in enumerate((1, 7, 64, 1000, 50_000)):
        add(f"random-{k}.png", rng.bytes(length), "refused")
        add(f"png-header-then-random-{k}.png", b"\x89PNG\r\n\x1a\n" + rng.bytes(length), "refused")
        add(f"jpeg-header-then-random-{k}.jpg", b"\xff\xd8\xff\xe0" + rng.bytes(length), "either")

    # truncations of every format at many cut points
    truncatable = {
        "png": encode(rgb, "PNG"),
        "jpg": encode(rgb, "JPEG"),
        "gif": encode(rgb.convert("P"), "GIF"),
        "webp": encode(rgb, "WEBP"),
        "tif": encode(rgb, "TIFF"),
        "bmp": encode(rgb, "BMP"),
    }
    for fmt, data in truncatable.items():
        for fraction in TRUNCATION_FRACTIONS:
            cut = max(1, int(len(data) * fraction))
            add(f"truncated-{fmt}-{cut}.{fmt}", data[:cut], "either")
        add(f"truncated-{fmt}-minus-one.{fmt}", data[:-1], "either")

    # flipped bytes inside otherwise valid files
    for fmt in ("png", "jpg", "gif", "webp", "tif"):
        data = truncatable[fmt]
        for k in range(4):
            corrupted = bytearray(data)
            for position in rng.integers(16, len(data), 8):
                corrupted[position] ^= int(rng.integers(1, 256))
            add(f"flipped-{fmt}-{k}.{fmt}", bytes(corrupted), "either")
    return files


@pytest.fixture(autouse=True)
def _one_thread(one_torch_thread):
    """Tiny models on a shared 2-core machine: one intra-op thread avoids threads waiting on each other."""
    yield


@pytest.fixture(scope="session")
def upload_corpus(tmp_path_factory) -> list[CorpusFile]:
    return build_upload_corpus(tmp_path_factory.mktemp("upload-corpus"))
