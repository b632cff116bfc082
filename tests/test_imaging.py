"""xai_core.imaging, the one module that turns tensors and maps into pictures: exact 8-bit quantisation, fit to a
display side, colour maps, overlays, PNG bytes and data URIs; and it stays the bottom layer."""

import ast
import base64
import colorsys
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import xai_core.imaging as imaging
from xai_core.imaging import colorize, fit_to_side, hsv_to_rgb, image_to_rgb, mask_overlay, overlay, png_bytes, png_data_uri, to_uint8


def _decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def test_to_uint8_rounds_and_keeps_grey_grey():
    grey = torch.tensor([[[0.0, 1.0], [0.5, 0.2]]])
    assert to_uint8(grey).tolist() == [[0, 255], [128, 51]]  # 127.5 rounds half to even, 51.0 exactly
    assert to_uint8(torch.tensor([[[-0.5, 2.0]]])).tolist() == [[0, 255]]  # clamped
    colour = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(0))
    array = to_uint8(colour)
    assert array.shape == (5, 4, 3) and array.dtype == np.uint8
    np.testing.assert_array_equal(array, (colour * 255).round().byte().permute(1, 2, 0).numpy())
    assert to_uint8(image_to_rgb(grey)).shape == (2, 2, 3)
    for bad in (torch.zeros(2, 4, 4), torch.zeros(4, 4), torch.zeros(1, 1, 4, 4)):
        with pytest.raises(ValueError, match="1 or 3 channels"):
            to_uint8(bad)


def test_png_round_trips_grey_and_rgb_exactly():
    grey = torch.tensor([[[0.0, 1.0], [0.5, 0.2]]])
    decoded = _decoded(png_bytes(to_uint8(grey)))
    assert decoded.tolist() == [[0, 255], [128, 51]]
    colour = torch.rand(3, 5, 4, generator=torch.Generator().manual_seed(1))
    for level in (None, 1, 9):
        np.testing.assert_array_equal(_decoded(png_bytes(to_uint8(colour), level)), to_uint8(colour))
    default = io.BytesIO()
    Image.fromarray(to_uint8(colour)).save(default, format="PNG")
    assert png_bytes(to_uint8(colour)) == default.getvalue()  # None is Pillow's own default, byte for byte
    uri = png_data_uri(to_uint8(grey))
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.partition(",")[2]) == png_bytes(to_uint8(grey))


def test_fit_to_side_enlarges_crisply_and_shrinks_smoothly():
    small = np.array([[0, 255], [128, 51]], dtype=np.uint8)
    np.testing.assert_array_equal(fit_to_side(small, 6), np.kron(small, np.ones((3, 3), dtype=np.uint8)))
    assert fit_to_side(small, None) is small
    np.testing.assert_array_equal(fit_to_side(small, 2), small)
    wide = np.random.default_rng(0).integers(0, 256, (10, 40, 3), dtype=np.uint8)
    assert fit_to_side(wide, 100).shape == (25, 100, 3)
    shrunk = fit_to_side(wide, 20)
    assert shrunk.shape == (5, 20, 3)
    expected = np.asarray(Image.fromarray(wide).resize((20, 5), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(shrunk, expected)
    assert fit_to_side(np.zeros((1, 50), np.uint8), 10).shape == (1, 10)  # never below one pixel


def test_overlay_blends_in_8_bits_and_fits_the_side():
    image = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(2))
    saliency = torch.rand(1, 4, 4, generator=torch.Generator().manual_seed(3))
    resized = torch.nn.functional.interpolate(saliency[None], size=(8, 8), mode="bilinear", align_corners=False)[0]
    coloured = torch.from_numpy(colorize(resized.clamp(0, 1))).permute(2, 0, 1).float() / 255
    blended = 0.25 * image.expand(3, -1, -1) + 0.75 * coloured
    expected = (blended.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(overlay(image, saliency, 0.75), expected)
    assert overlay(image, saliency, 0.75, display_side=32).shape == (32, 32, 3)
    np.testing.assert_array_equal(overlay(image, saliency, 0.0), to_uint8(image_to_rgb(image)))
    with pytest.raises(ValueError, match="colormap"):
        colorize(saliency, "rainbow")


def test_mask_overlay_tints_only_inside_the_mask():
    image = torch.full((1, 2, 2), 0.2)
    mask = torch.tensor([[[True, False], [False, False]]])
    tinted = mask_overlay(image, mask)
    assert tinted.shape == (3, 2, 2)
    torch.testing.assert_close(tinted[:, 0, 0], torch.tensor([0.1, 0.6, 0.1]))
    torch.testing.assert_close(tinted[:, 1, 1], torch.tensor([0.2, 0.2, 0.2]))


def test_imaging_is_the_bottom_layer():
    """Only numpy, torch, PIL and matplotlib (and the standard library); of xai_core, at most xai_core.data."""
    tree = ast.parse(Path(imaging.__file__).read_text())
    modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    modules |= {"." * node.level + (node.module or "") for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    allowed = {"__future__", "base64", "io", "numpy", "torch", "PIL", "matplotlib"}
    outside = [
        name
        for name in modules
        if name.split(".")[0] not in allowed and not name.startswith((".data", "xai_core.data")) or name in (".", "xai_core")
    ]
    assert not outside, outside


def test_hsv_to_rgb_matches_colorsys_and_carries_gradients():
    torch.manual_seed(0)
    hue, saturation, value = torch.rand(3, 200, dtype=torch.float64)
    hue = hue * 1.4 - 0.2  # hue wraps: -0.2 is 0.8
    expected = torch.tensor(
        [colorsys.hsv_to_rgb(h % 1.0, s, v) for h, s, v in zip(hue.tolist(), saturation.tolist(), value.tolist())], dtype=torch.float64
    )
    torch.testing.assert_close(hsv_to_rgb(hue, saturation, value), expected, rtol=0, atol=1e-12)
    primaries = hsv_to_rgb(torch.tensor([0.0, 1 / 3, 2 / 3]), torch.ones(3), torch.ones(3))
    torch.testing.assert_close(primaries, torch.eye(3), rtol=0, atol=1e-6)
    saturation = torch.tensor([0.5], requires_grad=True)
    hsv_to_rgb(torch.tensor([0.0]), saturation, torch.tensor([0.8])).sum().backward()
    assert saturation.grad.item() == pytest.approx(-1.6)  # red (0.8, 0.4, 0.4): d/ds of 0.8 (1 - s) twice
