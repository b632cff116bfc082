"""GAN Studio speed on CPU, 1 thread: exact latent sensitivity vs its alternatives, and slider -> image latency.

    python benchmarks/latent_speed.py            # print the tables
    python benchmarks/latent_speed.py --write    # also update docs/benchmarks.md

(a) Per-dimension sensitivity E_z ||dG(z)/dz_i||_2 over the same ``--latents`` seeded codes, for all D
    dimensions of the class-conditional MNIST DCGAN (the shipped ``cdcgan-mnist`` when present, else a seeded
    random generator of the same architecture: timings do not depend on the weights):
    * the engine's exact ``latent_sensitivity`` (batched forward-mode ``torch.func.jvp``, vectorised over the
      dimensions with ``torch.func.vmap``, 16 at a time);
    * the same jvp run once per dimension in a Python loop (the engine's first version);
    * a finite-difference loop, central differences (G(z + h e_i) - G(z - h e_i)) / 2h, two batched forwards
      per dimension (h = 1e-3, float32), and its error against the exact values;
    * reverse mode: the full Jacobian dG(z)/dz [C*H*W, D] of every code with
      ``torch.autograd.functional.jacobian(vectorize=True)``, then its column norms.
    Goal (issue 6): exact >= 5x faster than the finite-difference loop.
(b) Slider -> regenerated image: edit the latent, one generator forward, PNG encode at the page's display
    size (224 px), median of 200 runs. Goal: <= 30 ms. The page then also asks the domain CNN for its top-3 and
    its Grad-CAM and LSFT maps of the new image; that is timed too (median of 50).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.func import jvp

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import median_seconds, write_section  # noqa: E402

from xai_core import explain, load_model  # noqa: E402
from xai_core.generative.dcgan import DCGANGenerator, list_gans, load_gan, sample_latents  # noqa: E402
from xai_core.generative.latent import latent_sensitivity  # noqa: E402
from xai_core.generative.studio import base_latent, edit_latent, render  # noqa: E402
from xai_core.generative.training import GANConfig  # noqa: E402
from xai_core.imaging import fit_to_side, png_bytes, to_uint8  # noqa: E402

START, END = "<!-- latent_speed:start -->", "<!-- latent_speed:end -->"
GAN_ID = "cdcgan-mnist"
LABEL = 3
STEP = 1e-3
GOAL_RATIO, GOAL_MS = 5.0, 30.0


def benchmark_generator() -> tuple[DCGANGenerator, str]:
    if GAN_ID in list_gans():
        return load_gan(GAN_ID), f"`{GAN_ID}` from the manifests"
    torch.manual_seed(0)
    config = GANConfig("mnist", conditional=True)  # the shipped architecture
    generator = DCGANGenerator(config.latent_dim, 1, 28, 10, config.width).eval().requires_grad_(False)
    return generator, f"seeded random DCGAN with `{GAN_ID}`'s architecture (no shipped weights found)"


def finite_differences(generator_fn, latents: torch.Tensor) -> torch.Tensor:
    """Central differences along every basis dimension: Tensor[D], E_z ||(G(z + h e_i) - G(z - h e_i)) / 2h||."""
    with torch.inference_mode():
        norms = []
        for i in range(latents.shape[1]):
            shift = torch.zeros_like(latents)
            shift[:, i] = STEP
            derivative = (generator_fn(latents + shift) - generator_fn(latents - shift)) / (2 * STEP)
            norms.append(derivative.flatten(start_dim=1).norm(dim=1).mean())
        return torch.stack(norms)


def jvp_loop(generator_fn, latents: torch.Tensor) -> torch.Tensor:
    """Exact, one batched jvp per basis dimension in a Python loop -> Tensor[D]."""
    norms = []
    with torch.no_grad():
        for i in range(latents.shape[1]):
            tangent = torch.zeros_like(latents)
            tangent[:, i] = 1.0
            norms.append(jvp(generator_fn, (latents,), (tangent,))[1].flatten(start_dim=1).norm(dim=1).mean())
    return torch.stack(norms)


def reverse_jacobian(generator: DCGANGenerator, latents: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Exact by reverse mode: the full Jacobian [C*H*W, D] of each code (C*H*W vector-Jacobian products) -> Tensor[D]."""
    norms = torch.zeros(latents.shape[1])
    for latent in latents:
        jacobian = torch.autograd.functional.jacobian(lambda z: generator(z[None], label).flatten(), latent, vectorize=True)
        norms += jacobian.norm(dim=0)
    return norms / len(latents)


def sensitivity_table(generator: DCGANGenerator, count: int, repeats: int) -> tuple[str, dict]:
    labels = torch.full((count,), LABEL)
    latents = sample_latents(count, generator.latent_dim, seed=0)

    def generator_fn(z):
        return generator(z, labels)

    exact = latent_sensitivity(generator_fn, latents).sensitivity
    errors = {
        "loop": float(((jvp_loop(generator_fn, latents) - exact).abs() / exact).max()),
        "fd": float(((finite_differences(generator_fn, latents) - exact).abs() / exact).max()),
        "reverse": float(((reverse_jacobian(generator, latents, labels[:1]) - exact).abs() / exact).max()),
    }
    times = {
        "exact": median_seconds(lambda: latent_sensitivity(generator_fn, latents), repeats),
        "loop": median_seconds(lambda: jvp_loop(generator_fn, latents), repeats),
        "fd": median_seconds(lambda: finite_differences(generator_fn, latents), repeats),
        "reverse": median_seconds(lambda: reverse_jacobian(generator, latents, labels[:1]), 1),
    }
    dim, outputs = generator.latent_dim, generator.channels * generator.image_size**2
    rows = [
        ("engine: `latent_sensitivity` (jvp vmapped over 16 dimensions at a time)", f"{-(-dim // 16)} vmapped jvps", times["exact"], 0.0),
        ("jvp per dimension in a loop", f"{dim} jvps", times["loop"], errors["loop"]),
        ("finite differences, central, loop", f"{2 * dim} forwards", times["fd"], errors["fd"]),
        ("reverse mode: full Jacobian per code", f"{count} x {outputs} vjps", times["reverse"], errors["reverse"]),
    ]
    table = (
        "| method | passes (batch of " + f"{count})" + " | time (s) | engine speed-up (time / engine's) | max relative error vs exact |\n"
        "| --- | --- | ---: | ---: | ---: |\n"
    )
    table += "\n".join(
        f"| {name} | {passes} | {seconds:.3f} | **{seconds / times['exact']:.2f}x** | {error:.1e} |"
        for name, passes, seconds, error in rows
    )
    return table, times


def latency_table(generator: DCGANGenerator, runs: int) -> tuple[str, dict]:
    latent = base_latent(generator, 0)
    offsets = {0: 0.0}

    def forward():
        offsets[0] += 0.01  # a new slider value each run, as when the user drags
        return render(generator, edit_latent(latent, offsets, {}), LABEL)

    image = forward()

    def encode(picture):  # as pages/gan_studio.py draws the generated image
        return png_bytes(fit_to_side(to_uint8(picture), 224), compress_level=1)

    def regenerate():
        return encode(forward())

    def timed(function, count):
        function()
        samples = []
        for _ in range(count):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
        return statistics.median(samples), sorted(samples)[int(0.9 * len(samples))]

    results = {"forward": timed(forward, runs), "encode": timed(lambda: encode(image), runs), "total": timed(regenerate, runs)}
    rows = [
        ("edit + generator forward (1 latent)", results["forward"]),
        ("PNG encode, 224 px", results["encode"]),
        ("**slider -> image (edit + forward + encode)**", results["total"]),
    ]
    card = load_model("vgg-mnist")

    def reading():
        picture = forward()
        target = card.predict(picture, k=3)[0].label
        explain(card, picture, ["grad_cam", "lsft"], target)

    results["with_cnn"] = timed(reading, max(10, runs // 4))
    rows.append(("slider -> image + `vgg-mnist` top-3, Grad-CAM and LSFT (the fragment's compute)", results["with_cnn"]))
    table = "| step | median (ms) | 90th percentile (ms) |\n| --- | ---: | ---: |\n" + "\n".join(
        f"| {name} | {median * 1e3:.2f} | {p90 * 1e3:.2f} |" for name, (median, p90) in rows
    )
    return table, results


def run(count: int, repeats: int, runs: int) -> str:
    torch.set_num_threads(1)
    generator, source = benchmark_generator()
    sensitivity, times = sensitivity_table(generator, count, repeats)
    latency, results = latency_table(generator, runs)
    ratio = times["fd"] / times["exact"]
    met = "met" if ratio >= GOAL_RATIO else "**not met**"
    latency_met = "met" if results["total"][0] * 1e3 <= GOAL_MS else "**not met**"
    return f"""{START}
## GAN Studio: latent sensitivity and slider latency (issue 6)

Command: `python benchmarks/latent_speed.py --write` — CPU, 1 thread;
generator: {source} ({sum(p.numel() for p in generator.parameters()):,} parameters, {generator.latent_dim}-d latent, \
{generator.channels}x{generator.image_size}x{generator.image_size} output, class {LABEL}); torch {torch.__version__},
Python {platform.python_version()}.

### Exact sensitivity of all {generator.latent_dim} dimensions over {count} latents
Median of {repeats} runs (reverse mode: 1). Goal: exact >= {GOAL_RATIO:.0f}x faster than the finite-difference loop:
{met} ({ratio:.2f}x). Speed-up column: a method's time divided by the engine's (> 1: the engine is faster).

{sensitivity}

### Slider -> regenerated image
Median of {runs} runs. Goal: <= {GOAL_MS:.0f} ms: {latency_met} ({results["total"][0] * 1e3:.2f} ms).

{latency}
{END}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--latents", type=int, default=32, help="latent codes in the sensitivity sample")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of each sensitivity method")
    parser.add_argument("--runs", type=int, default=200, help="timed slider -> image runs")
    args = parser.parse_args()
    section = run(args.latents, args.repeats, args.runs)
    print(section)
    if args.write:
        write_section(START, END, section)


if __name__ == "__main__":
    main()
