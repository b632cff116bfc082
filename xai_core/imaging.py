"""Turning tensors and maps into pictures: the one place that quantises images to 8 bits, scales them to a display
side, colours maps, blends overlays and encodes PNG. Pages, reports, surveys and command lines all draw through it.

Bottom layer: imports only numpy, torch, PIL and matplotlib.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

COLORMAPS = ("jet", "viridis", "inferno", "gray")
MASK_TINT = (0.0, 1.0, 0.0)


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """Tensor[C,H,W] in [0,1] with C = 1 or 3 -> uint8 array [H,W] (grey) or [H,W,3] (RGB).

    Values are clamped to [0,1] and rounded half to even (``round(255 * x)``). For an RGB array whatever the
    channels, pass ``image_to_rgb(image)``. Raises ValueError for any other shape.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"expected an image [C, H, W] with 1 or 3 channels, got {tuple(image.shape)}")
    array = (image.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return array[:, :, 0] if array.shape[2] == 1 else array


def image_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Tensor[C,H,W] with C = 1 or 3 (or more: the first three are kept) -> Tensor[3,H,W]; grey is repeated."""
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image[:3]


def hsv_to_rgb(hue: torch.Tensor, saturation: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """HSV -> RGB, differentiable: tensors of one shape [...] in [0, 1] (hue wraps) -> Tensor[..., 3] in [0, 1]."""
    k = (torch.tensor([5.0, 3.0, 1.0], dtype=hue.dtype, device=hue.device) + (hue[..., None] % 1.0) * 6.0) % 6.0
    return value[..., None] - value[..., None] * saturation[..., None] * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)


def fit_to_side(array: np.ndarray, side: int | None) -> np.ndarray:
    """uint8 array [H,W] or [H,W,3] -> the same kind of array scaled so its longer side is ``side`` pixels.

    Enlarging uses nearest neighbour (crisp pixels for small images), shrinking Lanczos; the aspect ratio is kept
    (each side rounded, at least 1). ``side`` None, or equal to the longer side, returns the pixels unchanged.
    """
    if side is None:
        return array
    picture = Image.fromarray(array)
    scale = side / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
    return np.asarray(picture.resize(size, resample))


def colorize(saliency: torch.Tensor, colormap: str = "jet") -> np.ndarray:
    """Map Tensor[1,H,W] or [H,W] in [0,1] -> uint8 RGB array [H,W,3] through a matplotlib colormap (COLORMAPS)."""
    from matplotlib import colormaps

    if colormap not in COLORMAPS:
        raise ValueError(f"colormap must be one of {COLORMAPS}")
    values = saliency.detach().reshape(saliency.shape[-2:]).clamp(0, 1).cpu().numpy()
    return (colormaps[colormap](values)[:, :, :3] * 255).round().astype(np.uint8)


def overlay(
    image: torch.Tensor, saliency: torch.Tensor, opacity: float = 0.5, colormap: str = "jet", display_side: int | None = None
) -> np.ndarray:
    """Blend a coloured map onto the image -> uint8 RGB array [H,W,3] (or fitted to ``display_side``).

    image: Tensor[C,H,W] in [0,1] (C = 1 or 3); saliency: Tensor[1,h,w] in [0,1], resized bilinearly to the image.
    opacity 0 shows only the image, 1 only the map. ``display_side``: :func:`fit_to_side` of the result.
    """
    rgb = image_to_rgb(image.float())
    resized = F.interpolate(saliency[None].float(), size=tuple(rgb.shape[-2:]), mode="bilinear", align_corners=False)[0]
    coloured = torch.from_numpy(colorize(resized.clamp(0, 1), colormap)).permute(2, 0, 1).float() / 255
    return fit_to_side(to_uint8((1 - opacity) * rgb + opacity * coloured), display_side)


def mask_overlay(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Image Tensor[C,H,W] in [0,1] (C = 1 or 3) with a mask Tensor[1,H,W] (nonzero = inside) tinted half green
    -> Tensor[3,H,W] in [0,1]; pixels outside the mask are unchanged."""
    rgb = image_to_rgb(image)
    tinted = rgb * 0.5 + torch.tensor(MASK_TINT).view(3, 1, 1) * 0.5
    return torch.where(mask.bool(), tinted, rgb)


def png_bytes(array: np.ndarray, compress_level: int | None = None) -> bytes:
    """uint8 array [H,W] (grey) or [H,W,3] (RGB) -> PNG file bytes, 8 bits per channel.

    ``compress_level`` 0-9 trades size for speed (1 for interactive redraws); None is Pillow's default (6).
    """
    buffer = io.BytesIO()
    options = {} if compress_level is None else {"compress_level": compress_level}
    Image.fromarray(array).save(buffer, format="PNG", **options)
    return buffer.getvalue()


def png_data_uri(array: np.ndarray) -> str:
    """uint8 array [H,W] or [H,W,3] -> ``data:image/png;base64,...`` of its :func:`png_bytes`, for an HTML <img>."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(array)).decode("ascii")
