"""Speed of the evaluation suite, and of its metric kernels beside the peer libraries, in one process on CPU.

    python benchmarks/evaluation_speed.py            # print the tables
    python benchmarks/evaluation_speed.py --write    # also update docs/benchmarks.md
    python benchmarks/evaluation_speed.py --n 100    # a quicker, smaller suite

* The full suite (all 10 methods, all 16 metrics, default EvaluationSettings) on ``--n`` (default
  1,000) MNIST test images drawn by seed 0, with the shipped ``vgg-mnist``, timed per method and metric.
  Goal (issue 5): <= 60 s on 2 cores.
* Energy-map confidence change (average drop / increase in confidence): ours vs pytorch-grad-cam's
  ``DropInConfidence`` on the same Grad-CAM maps (checked to agree: ours = theirs / Y * 100).
* Spearman rank correlation of 1,000 map pairs: ours (batched, tie-aware, torch) vs ``scipy.stats.spearmanr`` per pair.
Ratios > 1 mean ours is faster.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import median_seconds, write_section  # noqa: E402
from pytorch_grad_cam.metrics.cam_mult_image import DropInConfidence  # noqa: E402
from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

from xai_core import load_model  # noqa: E402
from xai_core.metrics import drop_percentages, energy_confidences, rank_correlation, target_probabilities  # noqa: E402
from xai_core.metrics.suite import METRICS, EvaluationSettings, MethodBatch, draw_sample, method_map_function  # noqa: E402
from xai_core.reports.experiments import ALL_METHODS  # noqa: E402

START, END = "<!-- evaluation_speed:start -->", "<!-- evaluation_speed:end -->"
GOAL_SECONDS = 60.0


def full_suite(n: int) -> tuple[float, dict[str, dict[str, float]]]:
    """The suite runner's work with every step timed: (total seconds, {method: {"maps" or metric: seconds}}).

    Mirrors ``run_evaluation``: one sample, the reference maps, then per method its maps and every metric."""
    settings = EvaluationSettings()
    card = load_model("vgg-mnist")
    start = time.perf_counter()
    sample = draw_sample(card, "mnist", n, 0)
    reference = method_map_function(card, settings.reference_method, settings.batch_size)(sample.images, sample.targets)
    times: dict[str, dict[str, float]] = {}
    shared: dict = {}
    for method in ALL_METHODS:
        tick = time.perf_counter()
        maps = (
            reference
            if method == settings.reference_method
            else method_map_function(card, method, settings.batch_size)(sample.images, sample.targets)
        )
        times[method] = {"maps": time.perf_counter() - tick}
        batch = MethodBatch(card, method, sample.images, sample.targets, sample.masks, maps, reference, settings, 0, shared)
        for name, metric in METRICS.items():
            tick = time.perf_counter()
            metric.evaluate_batch(batch)
            times[method][name] = time.perf_counter() - tick
    return time.perf_counter() - start, times


def peer_drop(n: int, repeats: int) -> tuple[float, float, float]:
    """(our seconds, pytorch-grad-cam seconds, largest disagreement in %) for the energy-map drop of n images."""
    card = load_model("vgg-mnist")
    sample = draw_sample(card, "mnist", n, 0)
    maps = method_map_function(card, "grad_cam")(sample.images, sample.targets)

    def classify(images):
        return card.model(card.preprocess(images))

    def ours():
        original = target_probabilities(card, sample.images, sample.targets)
        return drop_percentages(original, energy_confidences(card, sample.images, maps, sample.targets))

    targets = [ClassifierOutputSoftmaxTarget(int(t)) for t in sample.targets]
    cams = maps[:, 0].numpy()

    def theirs():
        return DropInConfidence()(sample.images, cams, targets, classify)

    original = target_probabilities(card, sample.images, sample.targets).numpy()
    disagreement = float(np.abs(ours().numpy() - theirs() / original * 100).max())
    return median_seconds(ours, repeats), median_seconds(theirs, repeats), disagreement


def peer_spearman(n: int, repeats: int) -> tuple[float, float, float]:
    generator = torch.Generator().manual_seed(0)
    a = (torch.rand(n, 1, 32, 32, generator=generator) * 8).round() / 8  # ties, as in real maps
    b = (a + 0.3 * torch.rand(n, 1, 32, 32, generator=generator)).clamp(0, 1)

    def ours():
        return rank_correlation(a, b)

    def theirs():
        return np.array([spearmanr(x.flatten().numpy(), y.flatten().numpy()).statistic for x, y in zip(a, b)])

    disagreement = float(np.abs(ours().numpy() - theirs()).max())
    return median_seconds(ours, repeats), median_seconds(theirs, repeats), disagreement


FAMILIES = {
    "maps": ("maps",),
    "single-pass metrics": (
        "average_drop",
        "increase_in_confidence",
        "win_rate",
        "dice",
        "tp_rate",
        "tn_rate",
        "fp_rate",
        "fn_rate",
        "pointing_game",
        "energy_pointing_game",
        "background_error",
    ),
    "deletion + insertion": ("deletion_auc", "insertion_auc"),
    "noise curves": ("noise_background_error", "noise_stability"),
    "sanity cascade": ("sanity_correlation",),
}


def render(n: int, total: float, times: dict[str, dict[str, float]], drop, spearman) -> str:
    settings = EvaluationSettings()
    header = "| method | " + " | ".join(FAMILIES) + " | all |"
    lines = [header, "| --- |" + " ---: |" * (len(FAMILIES) + 1)]
    for method, steps in times.items():
        cells = [sum(steps[m] for m in members) for members in FAMILIES.values()]
        lines.append(f"| {method} | " + " | ".join(f"{c:.1f}" for c in cells) + f" | {sum(steps.values()):.1f} |")
    column_totals = [sum(sum(steps[m] for m in members) for steps in times.values()) for members in FAMILIES.values()]
    lines.append("| **all methods** | " + " | ".join(f"**{c:.1f}**" for c in column_totals) + f" | **{total:.1f}** |")
    verdict = "met" if total <= GOAL_SECONDS else f"**not met** ({total / GOAL_SECONDS:.1f}x over)"
    return f"""{START}
## Evaluation suite (`python benchmarks/evaluation_speed.py --write`)

{torch.get_num_threads()} threads, torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()}.

**Full suite, {n:,} MNIST test images, shipped `vgg-mnist`, all {len(ALL_METHODS)} methods x all {len(METRICS)} metrics:
{total:.1f} s. Goal <= {GOAL_SECONDS:.0f} s: {verdict}.** Defaults: deletion/insertion with {settings.perturbation_steps} steps on
every image; noise curves ({len(settings.noise_levels)} amounts) on the first {settings.robustness_images} images; sanity cascade
({settings.sanity_steps} points) on the first {settings.sanity_images} images. Seconds per method and kind of work:

{chr(10).join(lines)}

| kernel ({n:,} images) | ours (s) | peer (s) | ours faster by | max disagreement |
| --- | ---: | ---: | ---: | ---: |
| energy-map drop vs pytorch-grad-cam `DropInConfidence` | {drop[0]:.3f} | {drop[1]:.3f} | {drop[1] / drop[0]:.1f}x | {drop[2]:.2e} % |
| Spearman of map pairs vs `scipy.stats.spearmanr` loop | {spearman[0]:.3f} | {spearman[1]:.3f} | {spearman[1] / spearman[0]:.1f}x | {spearman[2]:.2e} |
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    torch.set_num_threads(2)
    drop = peer_drop(args.n, args.repeats)
    spearman = peer_spearman(args.n, args.repeats)
    total, times = full_suite(args.n)
    section = render(args.n, total, times, drop, spearman)
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
