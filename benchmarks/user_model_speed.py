"""Every-layer Grad-CAM + CGMAs on the architectures users bring, against pytorch-grad-cam's one layer, on CPU.

    python benchmarks/user_model_speed.py            # print the table
    python benchmarks/user_model_speed.py --write    # also update docs/benchmarks.md

For a torchvision resnet50 and densenet121 and a timm convnext_tiny (random weights from a fixed
seed, no downloads), at 224x224, batch 1, 2 threads, one process and one input:
* ours: ``cumulative_gradcam_averages(layer_gradcams(model, x, target))``, a Grad-CAM at every
  ``nn.Conv2d`` and the 8 CGMAs (one forward pass, one ``autograd.grad`` to every conv output);
* of which the forward + backward pass alone (``layer_pass`` on every conv), the rest being maps + CGMAs;
* pytorch-grad-cam ``GradCAM`` on one layer, the last block its README names for the architecture;
* the floor: one forward pass plus one backward pass of the target logit to the input, no parameter gradients;
* our single-layer ``GradCAM`` on the peer's layer (its backward pass stops at that layer).
After one warm-up call each, the contenders run in turn, ``repeats`` rounds, so load changes on the
machine hit all of them alike; the table gives medians and the quartiles of the per-round ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import write_section  # noqa: E402
from pytorch_grad_cam import GradCAM as PeerGradCAM  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from xai_core.attribution import GradCAM, cumulative_gradcam_averages, layer_gradcams  # noqa: E402
from xai_core.attribution.cam import layer_pass  # noqa: E402

START, END = "<!-- user_model_speed:start -->", "<!-- user_model_speed:end -->"
SIDE, TARGET, THREADS = 224, 0, 2


def configurations():
    """(row name, model builder, peer target layer name): the layer pytorch-grad-cam's README names."""
    return [
        ("torchvision resnet50", lambda: torchvision.models.resnet50(weights=None, num_classes=1000), "layer4.2"),
        ("torchvision densenet121", lambda: torchvision.models.densenet121(weights=None, num_classes=1000), "features.norm5"),
        ("timm convnext_tiny", lambda: timm.create_model("convnext_tiny", pretrained=False, num_classes=1000), "stages.3"),
    ]


def floor_pass(model: nn.Module, x: torch.Tensor, targets: torch.Tensor) -> None:
    """One forward and one backward pass to the input, without parameter gradients."""
    x = x.detach().requires_grad_(True)
    logits = model(x)
    torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), x)


def peer_gradcam(model: nn.Module, layer: str, x: torch.Tensor):
    """pytorch-grad-cam as its README uses it; made per call so its hooks never slow the other contenders."""
    with PeerGradCAM(model=model, target_layers=[model.get_submodule(layer)]) as cam:
        return cam(input_tensor=x, targets=[ClassifierOutputTarget(TARGET)])


def interleaved_seconds(functions: dict, repeats: int) -> dict[str, list[float]]:
    """One warm-up call of each function, then ``repeats`` rounds calling each once in turn: seconds per call."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return times


def run(repeats: int, only: str | None) -> tuple[str, dict[str, float]]:
    torch.set_num_threads(THREADS)
    rows, ratios = [], {}
    for name, build, peer_layer in configurations():
        if only and only not in name:
            continue
        torch.manual_seed(0)
        model = build().eval()
        x = torch.rand(1, 3, SIDE, SIDE)
        targets = torch.tensor([TARGET])
        convs = [module for module in model.modules() if isinstance(module, nn.Conv2d)]
        times = interleaved_seconds(
            {
                "ours": lambda: cumulative_gradcam_averages(layer_gradcams(model, x, targets)),
                "peer": lambda: peer_gradcam(model, peer_layer, x),
                "pass": lambda: layer_pass(model, convs, x, targets),
                "floor": lambda: floor_pass(model, x, targets),
                "ours_one": lambda: GradCAM(model, peer_layer).attribute(x, targets),
            },
            repeats,
        )
        ours, peer_time, pass_time, floor, ours_one = (
            statistics.median(times[key]) for key in ("ours", "peer", "pass", "floor", "ours_one")
        )
        per_round = [o / p for o, p in zip(times["ours"], times["peer"])]
        lower, _, upper = statistics.quantiles(per_round, n=4)
        ratios[name] = ours / peer_time
        n_convs = len(layer_gradcams(model, x, targets))
        print(f"{name}: ours {ours * 1e3:.0f} ms, peer {peer_time * 1e3:.0f} ms, ratio {ours / peer_time:.2f}x", file=sys.stderr)
        rows.append(
            f"| {name}@{SIDE} | {n_convs} | `{peer_layer}` | {ours * 1e3:.0f} | {pass_time * 1e3:.0f} | {(ours - pass_time) * 1e3:.0f} | "
            f"{peer_time * 1e3:.0f} | **{ours / peer_time:.2f}x** | {lower:.2f}-{upper:.2f}x | "
            f"{floor * 1e3:.0f} | {ours / floor:.2f}x | {ours_one * 1e3:.0f} |"
        )
    header = (
        "| model@input (batch 1) | conv layers | pytorch-grad-cam target layer | ours: all layers + CGMAs (ms) | "
        "of which 1 fwd + bwd to every conv (ms) | of which maps + CGMAs (ms) | pytorch-grad-cam 1 layer (ms) | "
        "ours (all) / peer (1 layer) | per-round ratio, quartiles | floor: 1 fwd + 1 bwd to input (ms) | ours / floor | "
        "ours: Grad-CAM of the peer's layer only (ms) |\n"
        "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    )
    return "\n".join([header, *rows]), ratios


def busy_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux ``/proc/stat``), None elsewhere."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def other_load(start: tuple, end: tuple) -> str:
    """'N.N CPU-s of other processes over W s' from (wall, busy, own) readings at the start and the end."""
    wall = end[0] - start[0]
    if start[1] is None or end[1] is None:
        return f"not measured (no /proc/stat) over {wall:.0f} s"
    others = max(0.0, (end[1] - start[1]) - (end[2] - start[2]))
    return f"{others:.1f} CPU-s used by other processes over the run's {wall:.0f} s ({others / wall:.2f} cores on average)"


def verdict(ratios: dict[str, float]) -> str:
    """'met' / 'not met' per model, from the median ratios."""
    return "; ".join(f"{name} **{'met' if ratio <= 1.0 else 'not met'}** ({ratio:.2f}x)" for name, ratio in ratios.items())


def render(table: str, ratios: dict[str, float], repeats: int, load: float, others: str) -> str:
    return f"""{START}
## Your own model: every-layer Grad-CAM + CGMAs vs pytorch-grad-cam (issue 19)

Command: `python benchmarks/user_model_speed.py --write` — CPU, {THREADS} threads, batch 1 at {SIDE}x{SIDE},
random weights from seed 0 (no downloads), one process, one input, target class {TARGET};
torch {torch.__version__}, torchvision {torchvision.__version__}, timm {timm.__version__},
Python {platform.python_version()}; load average (1 min) at the start: {load:.2f};
machine noise: {others}.
Median of {repeats} rounds after one warm-up call each; in every round the five timings run in turn,
and "per-round ratio" gives the quartiles of ours / peer over the rounds.

Goal: one all-layer Grad-CAM + CGMAs pass <= 1.0x the time of pytorch-grad-cam's single-layer Grad-CAM
on the last block (`GradCAM(model, target_layers=[...])` on the layer its README names):
{verdict(ratios)}.
The floor is one forward pass plus one backward pass to the input (no parameter gradients). The last
column is our own single-layer Grad-CAM on the peer's layer, whose backward pass stops at that layer.

{table}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--repeats", type=int, default=21, help="timed rounds per model (default 21)")
    parser.add_argument("--only", help="run only the models whose row name contains this (not with --write)")
    args = parser.parse_args()
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 (the ratio's quartiles need two rounds)")
    if args.write and args.only:
        parser.error("--write records every model; drop --only")
    load = os.getloadavg()[0]
    start = (time.perf_counter(), busy_cpu_seconds(), own_cpu_seconds())
    table, ratios = run(args.repeats, args.only)
    end = (time.perf_counter(), busy_cpu_seconds(), own_cpu_seconds())
    section = render(table, ratios, args.repeats, load, other_load(start, end))
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
