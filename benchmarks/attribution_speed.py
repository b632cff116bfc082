"""Side-by-side speed of our attribution engine and the peer libraries, in one process, on CPU.

    python benchmarks/attribution_speed.py            # print the tables
    python benchmarks/attribution_speed.py --write    # also update docs/benchmarks.md

Compares (median wall time of several runs, 2 threads, seeded random weights):
* every-layer Grad-CAMs + 8 CGMAs (ours, one forward + one backward) vs captum ``LayerGradCam``
  looped over every conv layer, vs pytorch-grad-cam's single-layer Grad-CAM, and vs the floor
  (one forward pass plus one backward pass of the target logit to the input, no parameter gradients);
* single-layer Grad-CAM: ours vs captum ``LayerGradCam`` vs pytorch-grad-cam;
* Score-CAM: ours (masks batched under inference_mode) vs pytorch-grad-cam ``ScoreCAM``, same map.
Ratios > 1 mean ours is faster.
"""

from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

import torch
import torchvision

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import median_seconds, write_section  # noqa: E402
from captum.attr import LayerAttribution, LayerGradCam  # noqa: E402
from pytorch_grad_cam import GradCAM as PeerGradCAM  # noqa: E402
from pytorch_grad_cam import ScoreCAM as PeerScoreCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from xai_core.attribution import GradCAM, ScoreCAM, conv_layers_in_execution_order, cumulative_gradcam_averages, layer_gradcams  # noqa: E402
from xai_core.attribution.base import normalise_maps  # noqa: E402
from xai_core.attribution.cam import SCORE_CAM_BATCH  # noqa: E402
from xai_core.models import build_model  # noqa: E402
from xai_core.models.registry import disable_inplace_activations  # noqa: E402

START, END = "<!-- attribution_speed:start -->", "<!-- attribution_speed:end -->"


def configurations(quick: bool):
    torch.manual_seed(0)
    resnet = disable_inplace_activations(torchvision.models.resnet18(num_classes=10)).eval()
    mobilenet = disable_inplace_activations(torchvision.models.mobilenet_v3_small(num_classes=10)).eval()
    vgg = disable_inplace_activations(build_model("vgg", 1, 10)).eval()
    configs = [
        ("resnet18@224", resnet, 3, 224),
        ("resnet18@64", resnet, 3, 64),
        ("mobilenet_v3_small@224", mobilenet, 3, 224),
        ("vgg-style@32", vgg, 1, 32),
    ]
    batches = (1,) if quick else (1, 32)
    for name, model, channels, side in configs:
        for batch in batches:
            yield name, model, torch.rand(batch, channels, side, side), batch


def captum_gradcam(model, layer, x, targets):
    cam = LayerGradCam(model, layer).attribute(x, target=targets, relu_attributions=True)
    return normalise_maps(LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear"))


def floor_pass(model, x, targets):
    """One forward and one backward pass to the input, without parameter gradients."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)


def run(quick: bool) -> tuple[str, str, str]:
    torch.set_num_threads(2)
    all_layers, single, score = [], [], []
    for name, model, x, batch in configurations(quick):
        targets = torch.arange(batch) % 10
        layers = [module for _, module in conv_layers_in_execution_order(model, x[:1])]
        last = layers[-1]
        heavy = x.shape[-1] >= 224 and batch > 1
        repeats = 3 if heavy or quick else 7

        ours_all = median_seconds(lambda: cumulative_gradcam_averages(layer_gradcams(model, x, targets)), repeats)
        floor = median_seconds(lambda: floor_pass(model, x, targets), repeats)
        captum_loop = median_seconds(lambda: [captum_gradcam(model, layer, x, targets) for layer in layers], 1 if heavy else 3)
        with PeerGradCAM(model=model, target_layers=[last]) as peer:
            peer_targets = [ClassifierOutputTarget(int(t)) for t in targets]
            peer_single = median_seconds(lambda: peer(input_tensor=x, targets=peer_targets), repeats)
        ours_single = median_seconds(lambda: GradCAM(model, last).attribute(x, targets), repeats)
        captum_single = median_seconds(lambda: captum_gradcam(model, last, x, targets), repeats)
        all_layers.append(
            f"| {name} | {batch} | {len(layers)} | {ours_all * 1e3:.0f} | {floor * 1e3:.0f} | {ours_all / floor:.2f}x | "
            f"{captum_loop * 1e3:.0f} | **{captum_loop / ours_all:.1f}x** | {peer_single * 1e3:.0f} | {ours_all / peer_single:.2f}x |"
        )
        single.append(
            f"| {name} | {batch} | {ours_single * 1e3:.1f} | {captum_single * 1e3:.1f} | {ours_single / captum_single:.2f}x | "
            f"{peer_single * 1e3:.1f} | {ours_single / peer_single:.2f}x |"
        )
        if batch == 1 and (x.shape[-1] <= 64 or not quick):
            ours_map = ScoreCAM(model, last).attribute(x, targets)
            with PeerScoreCAM(model=model, target_layers=[last]) as peer_score:
                peer_score.batch_size = 16  # the library's default
                peer_map = peer_score(input_tensor=x, targets=peer_targets)
                peer_seconds = median_seconds(lambda: peer_score(input_tensor=x, targets=peer_targets), 1)
            ours_seconds = median_seconds(lambda: ScoreCAM(model, last).attribute(x, targets), 1)
            difference = (ours_map - normalise_maps(torch.from_numpy(peer_map)[:, None])).abs().max().item()
            score.append(
                f"| {name} | {last.out_channels} | {ours_seconds:.2f} | {peer_seconds:.2f} | **{peer_seconds / ours_seconds:.1f}x** | {difference:.1e} |"
            )
    header_all = (
        "| model@input | batch | conv layers | ours: all layers + CGMAs (ms) | floor: 1 fwd + 1 bwd (ms) | ours / floor | "
        "captum LayerGradCam per layer (ms) | speed-up vs captum | pytorch-grad-cam 1 layer (ms) | ours (all) / peer (1 layer) |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    header_single = (
        "| model@input | batch | ours (ms) | captum (ms) | ours / captum | pytorch-grad-cam (ms) | ours / peer |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    header_score = (
        "| model@input (batch 1) | channels | ours (s) | pytorch-grad-cam (s) | speed-up | max map difference |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    return ("\n".join([header_all, *all_layers]), "\n".join([header_single, *single]), "\n".join([header_score, *score]))


def render(tables: tuple[str, str, str], quick: bool) -> str:
    all_layers, single, score = tables
    return f"""{START}
## Attribution engine (issue 3)

Command: `python benchmarks/attribution_speed.py --write`{" --quick" if quick else ""} — CPU, 2 threads, median of
several runs, random seeded weights; torch {torch.__version__}, Python {platform.python_version()}.

### Grad-CAM at every conv layer + 8 CGMAs
Goals: >= 10x faster than captum looped over every layer on resnet18@224 (20 conv layers) and
>= 20x on mobilenet_v3_small (52); <= 1.0x the time of pytorch-grad-cam's single-layer Grad-CAM.
The floor is one forward pass plus one backward pass to the input (no parameter gradients).

{all_layers}

### Single-layer Grad-CAM (last conv layer)
Goal: <= 1.0x captum's time.

{single}

### Score-CAM (same map as pytorch-grad-cam)
Goal: >= 3x faster. pytorch-grad-cam scores masks 16 at a time with a progress bar; ours scores
{SCORE_CAM_BATCH} at a time (the app's default) under `inference_mode`. One run each (not a median): a run takes seconds.

{score}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--quick", action="store_true", help="batch 1 only, fewer repeats")
    args = parser.parse_args()
    section = render(run(args.quick), args.quick)
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
