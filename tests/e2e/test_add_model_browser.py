"""Your model, your images, in real Chromium: add a torchvision ResNet-18 (random weights, 3 classes, 224x224,
center_crop; a 45 MB .safetensors file, over the old 20 MB upload cap) through the Add-a-model form, then upload a
photo-like PNG on Explain and Explore and see the new model's maps and prediction.

The server runs with XAI_STUDIO_CHECKPOINT_DIRS set to a temporary directory: the form writes there (the first
directory of that variable), never to runs/checkpoints."""

import re

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from playwright.sync_api import expect
from safetensors.torch import save_file

from tests.e2e.conftest import server_environment, streamlit_server
from xai_core.models.checkpoints import read_manifest

pytestmark = pytest.mark.e2e

MODEL = "browser-resnet18"
CLASSES = ("cat", "dog", "fox")


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    """Weights, classes and a 320x240 photo-like PNG (a lit disc on a graded, textured background)."""
    folder = tmp_path_factory.mktemp("your-model")
    torch.manual_seed(0)
    network = torchvision.models.resnet18(num_classes=len(CLASSES))
    save_file({key: value.contiguous() for key, value in network.state_dict().items()}, str(folder / "resnet18-finetuned.safetensors"))
    (folder / "classes.txt").write_text("\n".join(CLASSES) + "\n")
    rows, columns = np.mgrid[0:240, 0:320]
    rng = np.random.default_rng(0)
    background = np.stack([60 + columns * 0.4, 90 + rows * 0.3, 140 - rows * 0.2], axis=-1) + rng.normal(0, 8, (240, 320, 3))
    disc = (rows - 130) ** 2 + (columns - 170) ** 2 < 60**2
    background[disc] = [220, 160, 40] + rng.normal(0, 10, (int(disc.sum()), 3))
    Image.fromarray(background.clip(0, 255).astype(np.uint8)).save(folder / "photo.png")
    return {"folder": folder, "weights": folder / "resnet18-finetuned.safetensors", "classes": folder / "classes.txt"}


@pytest.fixture(scope="module")
def server(files):
    """A server of its own, reading and writing models in a temporary directory; yields (url, that directory)."""
    added = files["folder"] / "added"
    environment = {**server_environment(), "XAI_STUDIO_CHECKPOINT_DIRS": str(added)}
    with streamlit_server(environment, "streamlit-server-add-model.log") as url:
        yield url, added


def _upload(page, label: str, path) -> None:
    uploader = page.get_by_test_id("stFileUploader").filter(has_text=label)
    uploader.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    uploader.get_by_test_id("stFileChip").wait_for()  # its name is shortened on screen
    expect(uploader.get_by_test_id("stFileChipIconSpinner")).to_have_count(0, timeout=60_000)
    expect(uploader.get_by_test_id("stFileChipIconError")).to_have_count(0)


def _choose_methods(page, methods: list[str]) -> None:
    """Empty the Methods multiselect with its clear-all control, then pick ``methods`` by typing each; every change
    reruns the page, and each is let finish (its tile drawn) before the next, so none overtakes another."""
    widget = page.get_by_test_id("stMultiSelect").filter(has=page.get_by_text("Methods", exact=True))
    widget.get_by_role("button", name="Clear all").click()
    page.get_by_text("Choose at least one method").wait_for()
    for method in methods:
        widget.locator("input").fill(method)
        page.get_by_role("option", name=method, exact=True).click()
        page.keyboard.press("Escape")
        page.get_by_test_id("stMain").get_by_text(method, exact=True).wait_for(timeout=60_000)
    expect(page.get_by_test_id("stMain").get_by_test_id("stImage")).to_have_count(1 + len(methods), timeout=120_000)


def test_a_model_added_in_the_browser_explains_an_uploaded_photo(page, server, files):
    url, added = server
    page.goto(f"{url}/add-model")
    page.get_by_role("button", name="Validate and add").wait_for(timeout=120_000)
    if page.get_by_role("dialog").is_visible():  # "Page not found" when a fresh server's first request is a sub-page
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_have_count(0)
    assert page.get_by_text("up to 1,024 MB").first.is_visible()

    page.get_by_role("combobox", name="Architecture").click()
    page.keyboard.type("resnet18")
    page.get_by_role("option", name="torchvision:resnet18", exact=True).click()
    _upload(page, "Weights", files["weights"])
    _upload(page, "Class names", files["classes"])
    page.get_by_text("center_crop", exact=True).click()
    model_id = page.get_by_role("textbox", name="Model id")
    model_id.fill(MODEL)
    model_id.press("Enter")
    page.get_by_role("button", name="Validate and add").click()
    page.get_by_text(f"registered {MODEL}: torchvision:resnet18, 11,178,051 parameters").wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"input\s+3x224x224 \(center_crop\)")).wait_for()
    assert [entry["id"] for entry in read_manifest(added)] == [MODEL]
    expect(page.get_by_test_id("stSidebar").get_by_role("combobox", name="Model", exact=True)).to_have_value(MODEL)  # current now

    # Explain, in the same session: two quick methods, then the photo
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Explain").click()
    page.get_by_role("heading", name="Explain").wait_for()
    _choose_methods(page, ["Grad-CAM", "LSFT-GAN"])
    page.get_by_text("Upload an image", exact=True).click()
    _upload(page, "Image file", files["folder"] / "photo.png")
    page.get_by_text("Original (the centre the model sees)").wait_for(timeout=120_000)
    page.get_by_text("Target: ").wait_for(timeout=120_000)
    prediction = page.get_by_test_id("stMarkdownContainer").filter(has_text="Prediction:").first.inner_text()
    assert any(name in prediction for name in CLASSES), prediction
    images = page.locator("[data-testid='stMain'] [data-testid='stImage'] img")
    expect(images).to_have_count(3, timeout=60_000)  # the original and two maps
    for index in range(3):
        images.nth(index).wait_for(state="visible")
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path="test-artifacts/add-model-explain.png", full_page=True)

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Explore").click()
    page.get_by_role("heading", name="Explore").wait_for()
    _upload(page, "Image file", files["folder"] / "photo.png")
    page.get_by_text(re.compile(rf"Predicted:\s*({'|'.join(CLASSES)}) \(")).wait_for(timeout=60_000)
    page.get_by_text(f"Model {MODEL} (torchvision:resnet18), input 3x224x224 (center_crop)").wait_for()
