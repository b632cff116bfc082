"""Interactive timings in real Chromium (issue 21): Explain on an uploaded photo, and Studio's latent sliders.

    python benchmarks/browser.py            # print the tables
    python benchmarks/browser.py --write    # also update docs/benchmarks.md

``streamlit run app.py`` is started on a free port with a temporary checkpoint folder holding a torchvision
ResNet-50 (seeded random weights, 5 classes) registered with ``add-model``; Debian Chromium
(``$XAI_STUDIO_CHROMIUM``) drives it headless, one tab, 1400x1800.

* Explain at photo scale: the model is chosen in the sidebar, "Upload an image" clicked, and the clock starts
  when the photo (scikit-image's astronaut resized to 600x512, 0.31 megapixels) is given to the file input. Times
  until the first map's image has loaded, until every default map that runs without a click has, and until their
  badges are shown; then the on-request maps (Score-CAM on these models) are clicked and timed to their image.
  Each model is timed on a fresh image (first visit: nothing cached), once per run of the script.
* Studio slider: the GAN-sample subject (shipped ``cdcgan-mnist``, class 0, ``vgg-mnist``), the first latent
  slider moved one step with the keyboard; the clock runs from the key press until the regenerated image's
  ``src`` has changed and nothing on the page is stale any more (every map, badge and chart redrawn). The median of
  ``--moves`` moves after one warm-up move.
A benchmark, not a test: the goals are recorded beside the figures, met or not.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import skimage.data
import torch
import torchvision
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright
from safetensors.torch import save_file

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import write_section  # noqa: E402

from xai_core.explainers import EXPLAINERS, METHOD_LABELS, ON_REQUEST_PASSES  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- browser:start -->", "<!-- browser:end -->"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"]
MODELS = ("efficientnet_lite0-imagenet", "own-resnet50")
GOALS = {"first": 2.0, "maps": 10.0, "badges": 15.0, "slider": 0.5}
MAIN_IMAGES_LOADED = """(wanted) => {
    const images = [...document.querySelectorAll('[data-testid="stMainBlockContainer"] [data-testid="stImage"] img')];
    return images.length >= wanted && images.every(i => i.complete && i.naturalWidth > 0);
}"""
NOTHING_STALE = """() => document.querySelectorAll('[data-stale="true"]').length === 0
    && !document.querySelector('[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]')"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def register_resnet50(folder: Path) -> Path:
    """Seeded ResNet-50 weights and 5 class names registered as ``own-resnet50`` in ``folder/ckpt``."""
    torch.manual_seed(0)
    weights = {k: v.contiguous() for k, v in torchvision.models.resnet50(num_classes=5).state_dict().items()}
    save_file(weights, str(folder / "w.safetensors"))
    (folder / "classes.txt").write_text("a\nb\nc\nd\ne\n")
    arguments = ["--id", "own-resnet50", "--arch", "torchvision:resnet50", "--weights", str(folder / "w.safetensors")]
    arguments += ["--classes", str(folder / "classes.txt"), "--out", str(folder / "ckpt")]
    subprocess.run([sys.executable, "-m", "xai_core", "add-model", *arguments], cwd=ROOT, check=True, capture_output=True)
    return folder / "ckpt"


@contextmanager
def server(checkpoints: Path):
    """``streamlit run app.py`` on a free port, until it answers its health check; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", "127.0.0.1", "--server.port", str(port)]
    command += ["--server.headless", "true", "--browser.gatherUsageStats", "false"]
    environment = {**os.environ, "XAI_STUDIO_CHECKPOINT_DIRS": str(checkpoints)}
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait()


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.locator('[data-testid="stSidebar"]').wait_for(timeout=120_000)
    if page.get_by_role("dialog").is_visible():  # "Page not found" when a fresh server's first request is a sub-page
        page.keyboard.press("Escape")


def explain_timings(page: Page, url: str, model_id: str, photo: Path) -> dict:
    """Seconds from giving ``photo`` on Explain with ``model_id`` to the first map, every map not on request, and
    their badges; then each on-request map's estimate and its time after the click."""
    open_page(page, f"{url}/explain")
    page.get_by_label("Model", exact=True).first.click(timeout=120_000)
    page.get_by_role("option", name=model_id).first.click()
    page.get_by_text("Upload an image").click()
    page.get_by_text("Upload a PNG, JPEG").wait_for(timeout=120_000)
    started = time.perf_counter()
    page.locator('[data-testid="stMainBlockContainer"] input[type=file]').set_input_files(str(photo))
    page.wait_for_function(MAIN_IMAGES_LOADED, arg=2, timeout=600_000)  # the original and one map
    first = time.perf_counter() - started
    page.get_by_text("Target: ").wait_for(timeout=900_000)  # written after the last map that needs no click
    waiting = [button.inner_text().removeprefix("Compute ") for button in page.get_by_role("button", name="Compute ").all()]
    inapplicable = [text.split(":")[1].strip() for text in page.get_by_text("Not applicable:").all_inner_texts()]
    maps = len(EXPLAINERS) - len(waiting) - len(inapplicable)
    page.wait_for_function(MAIN_IMAGES_LOADED, arg=1 + maps, timeout=900_000)
    all_maps = time.perf_counter() - started
    expect(page.get_by_text("deletion AUC")).to_have_count(maps, timeout=900_000)
    badges = time.perf_counter() - started
    estimates = {name: page.get_by_text(" passes through ").nth(index).inner_text() for index, name in enumerate(waiting)}
    on_request = {}
    for name in waiting:
        clicked = time.perf_counter()
        page.get_by_role("button", name=f"Compute {name}").click()
        maps += 1
        page.wait_for_function(MAIN_IMAGES_LOADED, arg=1 + maps, timeout=900_000)
        on_request[name] = time.perf_counter() - clicked
    return {
        "first": first,
        "maps": all_maps,
        "badges": badges,
        "count": maps - len(waiting),
        "not_applicable": inapplicable,
        "waiting": waiting,
        "estimates": estimates,
        "on_request": on_request,
    }


def slider_timings(page: Page, url: str, moves: int) -> list[float]:
    """Seconds from each key press on Studio's first latent slider to the page fully redrawn (``moves`` + 1 warm-up)."""
    open_page(page, f"{url}/studio")
    page.get_by_text("GAN sample", exact=True).click()
    generated = page.locator('[data-testid="stImage"]').filter(has_text="slider(s) moved").locator("img")
    generated.wait_for(timeout=300_000)  # until then the dataset image's tiles may still show
    page.wait_for_function(NOTHING_STALE, timeout=300_000)
    expect(page.get_by_text("deletion AUC")).to_have_count(4, timeout=300_000)
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="z[").first.get_by_role("slider")
    thumb.focus()
    seconds = []
    for move in range(moves + 1):
        before = generated.get_attribute("src")
        started = time.perf_counter()
        page.keyboard.press("ArrowRight" if move % 2 == 0 else "ArrowLeft")  # back and forth: new images each time
        page.wait_for_function(
            "(before) => { const i = [...document.querySelectorAll('[data-testid=\"stImage\"]')]"
            ".find(e => e.textContent.includes('slider(s) moved')); const img = i && i.querySelector('img');"
            " return img && img.getAttribute('src') !== before && img.complete; }",
            arg=before,
            timeout=60_000,
        )
        page.wait_for_function(NOTHING_STALE, timeout=60_000)
        seconds.append(time.perf_counter() - started)
        thumb.focus()
    return seconds[1:]


def verdict(value: float, goal: float) -> str:
    return f"**{value:.1f}**" + (" (met)" if value <= goal else f" (**not met**, goal <= {goal:g} s)")


def render(explained: dict[str, dict], moves: list[float]) -> str:
    rows = []
    for model_id, timing in explained.items():
        waiting = ", ".join(f"{name}: {timing['on_request'][name]:.0f} s after the click" for name in timing["waiting"]) or "none"
        rows.append(
            f"| {model_id} | {verdict(timing['first'], GOALS['first'])} | {verdict(timing['maps'], GOALS['maps'])} "
            f"({timing['count']} maps) | {verdict(timing['badges'], GOALS['badges'])} | {waiting} | "
            f"{'; '.join(timing['not_applicable']) or 'none'} |"
        )
    estimates = "; ".join(f'{model_id}: "{text}"' for model_id, timing in explained.items() for text in timing["estimates"].values())
    median = statistics.median(moves)
    quartiles = statistics.quantiles(moves, n=4) if len(moves) > 1 else [median, median, median]
    default = ", ".join(METHOD_LABELS[m] for m in EXPLAINERS)
    return f"""{START}
## In the browser: Explain at photo scale and Studio's sliders (issue 21)

Command: `python benchmarks/browser.py --write` — Chromium headless, {os.cpu_count()} cores, torch {torch.__version__},
Python {platform.python_version()}; a fresh `streamlit run app.py` (nothing cached). Explain: the photo (astronaut,
600x512, 0.31 MP) is given to the file input after the model and "Upload an image" are chosen; the clock runs from
then until each map's image has loaded in the page. Default methods: {default}; a map needing more than
{ON_REQUEST_PASSES} passes through the model waits for a click and is timed from the click.

| model @ 224 | first map (s) | every map not on request (s) | badges (s) | on request | not applicable |
| --- | ---: | ---: | ---: | --- | --- |
{chr(10).join(rows)}

The page's estimate before the click: {estimates or "none"}.

Studio, GAN sample (`cdcgan-mnist`, class 0, read by `vgg-mnist`): one keyboard step of the first latent slider
regenerates the image and redraws the prediction, Saliency, Grad-CAM, LSFT and GSFT with their badges and the CGMA
relevance chart. From the key press until the new image has loaded and nothing on the page is stale, over
{len(moves)} moves: median {verdict(median, GOALS["slider"])}, quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f} s.
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--moves", type=int, default=15, help="slider moves timed on Studio (default 15)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        Image.fromarray(skimage.data.astronaut()).resize((600, 512)).save(folder / "photo.jpg")
        checkpoints = register_resnet50(folder)
        with server(checkpoints) as url, sync_playwright() as playwright:
            chromium = os.environ.get("XAI_STUDIO_CHROMIUM", "/usr/bin/chromium")
            browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            explained = {}
            for model_id in MODELS:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.set_default_timeout(120_000)
                explained[model_id] = explain_timings(page, url, model_id, folder / "photo.jpg")
                print(model_id, explained[model_id], file=sys.stderr)
                page.close()
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            moves = slider_timings(page, url, args.moves)
            browser.close()
    section = render(explained, moves)
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
