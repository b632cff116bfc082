"""Your own model in the browser: a torchvision ResNet-50 registered with ``add-model`` explains an uploaded photo.

    python benchmarks/own_model_browser.py            # print the row
    python benchmarks/own_model_browser.py --write    # also update docs/benchmarks.md

Seeded random ResNet-50 weights (5 classes) are saved to a temporary folder and registered there with
``python -m xai_core add-model``; ``streamlit run app.py`` is started with that folder in
``$XAI_STUDIO_CHECKPOINT_DIRS``. Debian Chromium (``$XAI_STUDIO_CHROMIUM``) opens Explain, picks the model, uploads
scikit-image's astronaut photo resized to 600x512 and waits for the "Target: " caption, which the page writes after
every default method's map. The time runs from the file being given to that caption. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import skimage.data
import torch
import torchvision
from PIL import Image
from playwright.sync_api import sync_playwright
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- own_model_browser:start -->", "<!-- own_model_browser:end -->"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PORT = 8597


def register(folder: Path) -> Path:
    """Seeded ResNet-50 weights, a classes file and a photo in ``folder``; the model registered as ``own-resnet50``."""
    torch.manual_seed(0)
    save_file(
        {k: v.contiguous() for k, v in torchvision.models.resnet50(num_classes=5).state_dict().items()}, str(folder / "w.safetensors")
    )
    (folder / "classes.txt").write_text("a\nb\nc\nd\ne\n")
    Image.fromarray(skimage.data.astronaut()).resize((600, 512)).save(folder / "photo.jpg")
    command = [
        sys.executable,
        "-m",
        "xai_core",
        "add-model",
        "--id",
        "own-resnet50",
        "--arch",
        "torchvision:resnet50",
        "--weights",
        str(folder / "w.safetensors"),
        "--classes",
        str(folder / "classes.txt"),
        "--out",
        str(folder / "ckpt"),
    ]
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return folder / "ckpt"


def explain_seconds(folder: Path, checkpoints: Path) -> float:
    """Seconds from giving the photo to Explain until every default map is shown."""
    environment = {**os.environ, "XAI_STUDIO_CHECKPOINT_DIRS": str(checkpoints)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(PORT),
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with sync_playwright() as playwright:
            chromium = os.environ.get("XAI_STUDIO_CHROMIUM", "/usr/bin/chromium")
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            for _ in range(60):  # the server starts
                try:
                    page.goto(f"http://127.0.0.1:{PORT}/explain")
                    break
                except Exception:
                    time.sleep(1)
            page.get_by_label("Model", exact=True).first.click(timeout=60_000)
            page.get_by_role("option", name="own-resnet50").click()
            page.get_by_text("Upload an image").click()
            started = time.perf_counter()
            page.locator("input[type=file]").set_input_files(str(folder / "photo.jpg"))
            page.get_by_text("Target: ").wait_for(timeout=900_000)
            seconds = time.perf_counter() - started
            browser.close()
            return seconds
    finally:
        server.terminate()
        server.wait()


def render(seconds: float) -> str:
    return f"""{START}
## Your own model in the browser (issue 19)

Command: `python benchmarks/own_model_browser.py --write` (Chromium, {os.cpu_count()} cores, torch {torch.__version__},
Python {platform.python_version()}). A torchvision ResNet-50 registered with `add-model` (seeded random weights,
5 classes), a 600x512 photo uploaded on Explain, every default method (Score-CAM scores its 2,048 channels).

| model | photo | every default map shown after (s) |
| --- | --- | ---: |
| own-resnet50 (torchvision:resnet50 @ 224) | astronaut, 600x512 | {seconds:.0f} |

Far from issue 21's goal (every default map <= 10 s): the maps are computed one after another before any is shown,
and Score-CAM dominates; issue 21 covers that.
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        section = render(explain_seconds(folder, register(folder)))
    print(section)
    if args.write:
        text = DOCS.read_text()
        if START in text:
            text = text[: text.index(START)] + section + text[text.index(END) + len(END) :]
        else:
            text = text.rstrip("\n") + "\n\n" + section + "\n"
        DOCS.write_text(text)


if __name__ == "__main__":
    main()
