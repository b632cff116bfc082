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
        raise ImageDecodeError(f"The file is {len(data) / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
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
            image = ImageOps.exif_transpose(image)
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
    return _to_l_or_rgb(image)


def _to_l_or_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode == "1":
        return image.convert("L")
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = np.zeros_like(values) if high == low else (values - low) / (high - low)
        return Image.fromarray(np.rint(scaled * 255).astype(np.uint8))
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


def read_image_file(path: str | Path, **limits) -> Image.Image:
    """Decode an image file from disk with the same checks as an upload."""
    path = Path(path)
    if not path.is_file():
        raise ImageDecodeError(f"No such file: {path}")
    size = path.stat().st_size
    max_bytes = limits.get("max_bytes", MAX_IMAGE_BYTES)
    if size > max_bytes:
        raise ImageDecodeError(f"{path.name} is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB.")
    return decode_image(path.read_bytes(), **limits)


def limit_side(image: Image.Image, max_side: int) -> Image.Image:
    """Downscale (Lanczos) so the longer side is at most ``max_side``; smaller images are returned as is."""
    if max(image.size) <= max_side:
        return image
    scale = max_side / max(image.size)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.Resampling.LANCZOS)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL ``L``/``RGB`` image -> float Tensor[C, H, W] in [0, 1]."""
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return torch.from_numpy(array.transpose(2, 0, 1).copy()).float() / 255.0


def tensor_to_pil(image: torch.Tensor) -> Image.Image:
    """Float Tensor[C, H, W] in [0, 1] (C = 1 or 3) -> PIL ``L`` or ``RGB`` image."""
    array = (image.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array[:, :, 0]) if array.shape[2] == 1 else Image.fromarray(array)
