"""Safe decoding of untrusted image files (uploads, CLI ``--image``, ImageFolder members).

Every failure raises :class:`ImageDecodeError` with a message a person can act on; the
caller shows it and keeps its state. Limits: a byte-size cap, a pixel-count cap checked
from the header before any pixel is decoded (Pillow's decompression-bomb warning is made
an error too), and every colour mode converted to ``L`` or ``RGB`` or refused.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_IMAGE_PIXELS = 25_000_000
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "GIF", "BMP", "TIFF", "WEBP", "PPM")
MAX_WORKING_SIDE = 1024  # decoded uploads are downscaled to this (see limit_side); every model input is smaller
ACCEPTED_EXTENSIONS = ("png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "ppm", "pgm")


class ImageDecodeError(ValueError):
    """The file cannot be used as an image; the message says why."""


def decode_image(
    data: bytes,
    *,
    max_bytes: int = MAX_IMAGE_BYTES,
    max_pixels: int = MAX_IMAGE_PIXELS,
) -> Image.Image:
    """Decode untrusted bytes into a PIL image in mode ``L`` (grayscale) or ``RGB``.

    Transparency is composited onto white, EXIF orientation is applied, animations give
    their first frame, 16-bit and float images are scaled to 8 bits.
    """
    if len(data) == 0:
        raise ImageDecodeError("The file is empty.")
    if len(data) > max_bytes:
        raise ImageDecodeError(f"The file is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageDecodeError(
                    f"{image.format} images are not supported; use one of {', '.join(ACCEPTED_FORMATS)}."
                )
            width, height = image.size
            if width < 1 or height < 1:
                raise ImageDecodeError("The image has no pixels.")
            if width * height > max_pixels:
                raise ImageDecodeError(
                    f"The image declares {width}x{height} pixels; the limit is {max_pixels:,} pixels."
                )
            image.seek(0)
            image.load()
            return _to_l_or_rgb(ImageOps.exif_transpose(image))
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ImageDecodeError(f"The image is too large to decode safely ({error}).") from error
    except UnidentifiedImageError as error:
        raise ImageDecodeError("This file is not an image Pillow can read (is it really a picture?).") from error
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageDecodeError(f"The image file is damaged or truncated ({error}).") from error
    except MemoryError:
        raise
    except Exception as error:  # a trust boundary: any other decoder failure is a bad file, not a crash
        raise ImageDecodeError(f"The image file could not be decoded ({type(error).__name__}: {error}).") from error


def _to_l_or_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _scaled_to_8_bits(image)
    if mode == "P":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("LA", "La", "PA", "RGBA", "RGBa"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        composed = Image.alpha_composite(white, rgba)
        return composed.convert("L" if mode in ("LA", "La") else "RGB")
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return image.convert("RGB")
    raise ImageDecodeError(f"Colour mode {mode!r} is not supported.")


def _scaled_to_8_bits(image: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float image -> ``L``, min-max scaled over its finite values (a constant image
    becomes black); NaN and -inf pixels become black, +inf white. Works in float32, in place."""
    values = np.array(image, dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.any():
        return Image.new("L", image.size)
    low, high = float(values.min(where=finite, initial=np.inf)), float(values.max(where=finite, initial=-np.inf))
    np.nan_to_num(values, copy=False, nan=low, posinf=high, neginf=low)
    values -= low
    if high > low:
        values /= high - low
        values *= 255
    return Image.fromarray(np.rint(values, out=values).astype(np.uint8))


def read_image_file(path: str | Path, **limits) -> Image.Image:
    """Decode an image file from disk with the same checks as an upload."""
    path = Path(path)
    if not path.exists():
        raise ImageDecodeError(f"No such file: {path}")
    if not path.is_file():
        raise ImageDecodeError(f"{path} is not a regular file.")
    max_bytes = limits.get("max_bytes", MAX_IMAGE_BYTES)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise ImageDecodeError(f"{path.name} is {size / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB.")
        data = path.read_bytes()
    except OSError as error:
        raise ImageDecodeError(f"{path} cannot be read ({error.strerror or error}).") from error
    return decode_image(data, **limits)


def limit_side(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (Lanczos) so the longer side is at most ``max_side``; smaller images are returned as is."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)


def square_crop(image: Image.Image, size: int) -> Image.Image:
    """The centre square of ``image`` at ``size`` x ``size``: the shorter side is resized to ``size`` (bilinear,
    antialiased when shrinking) and the longer one cut symmetrically, so photos keep their proportions."""
    if size < 1:
        raise ValueError(f"the image size must be at least 1, got {size}")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side))  # cropped first: no pixel outside the square bleeds in
    return square.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)


def pil_to_uint8(image: Image.Image) -> torch.Tensor:
    """PIL ``L``/``RGB`` image -> uint8 Tensor[C, H, W] (the compact form datasets store)."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def rgb_square_uint8(image: Image.Image, size: int) -> torch.Tensor:
    """A decoded picture as the uint8 Tensor[3, size, size] that folder and upload datasets store: RGB, centre square."""
    return pil_to_uint8(square_crop(image.convert("RGB"), size))


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL ``L``/``RGB`` image -> float Tensor[C, H, W] in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy()).float() / 255.0
