"""Turning maps into pictures: one shared colormap, overlays on the original image, PNG bytes."""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

COLORMAPS = ("jet", "viridis", "inferno", "gray")


def colorize(saliency: torch.Tensor, colormap: str = "jet") -> np.ndarray:
    """Map Tensor[1,H,W] or [H,W] in [0,1] -> uint8 RGB array [H,W,3] through a matplotlib colormap."""
    from matplotlib import colormaps

    if colormap not in COLORMAPS:
        raise ValueError(f"colormap must be one of {COLORMAPS}")
    values = saliency.detach().reshape(saliency.shape[-2:]).clamp(0, 1).cpu().numpy()
    return (colormaps[colormap](values)[:, :, :3] * 255).round().astype(np.uint8)


def image_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """Tensor[C,H,W] in [0,1] with C = 1 or 3 -> Tensor[3,H,W]."""
    return image.expand(3, -1, -1) if image.shape[0] == 1 else image[:3]


def overlay(image: torch.Tensor, saliency: torch.Tensor, opacity: float = 0.5, colormap: str = "jet",
            display_side: int | None = None) -> np.ndarray:
    """Blend a coloured map onto the image: uint8 RGB array.

    image: Tensor[C,H,W] in [0,1]; saliency: Tensor[1,h,w] in [0,1], resized bilinearly to the image.
    opacity 0 shows only the image, 1 only the map. ``display_side`` enlarges small results (nearest).
    """
    rgb = image_to_rgb(image.float())
    resized = F.interpolate(saliency[None].float(), size=tuple(rgb.shape[-2:]), mode="bilinear", align_corners=False)[0]
    coloured = torch.from_numpy(colorize(resized.clamp(0, 1), colormap)).permute(2, 0, 1).float() / 255
    blended = (1 - opacity) * rgb + opacity * coloured
    array = (blended.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    return enlarge(array, display_side) if display_side else array


def enlarge(array: np.ndarray, side: int) -> np.ndarray:
    """Scale an image array so its longer side is ``side`` (nearest neighbour up, Lanczos down)."""
    picture = Image.fromarray(array)
    scale = side / max(picture.size)
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS
    return np.asarray(picture.resize(size, resample))


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()
