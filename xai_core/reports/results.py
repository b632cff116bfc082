"""Regenerates ``docs/results.md`` from recorded figures (``python -m xai_core report-results``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..data.photo_views import photo_names
from ..metrics.gan_experiments import run_gan_experiments
from ..metrics.suite import EvaluationResult, write_sanity_verdicts
from ..models.checkpoints import DEFAULT_CHECKPOINT_DIR, REPOSITORY_ROOT, read_manifest
from .evaluation_report import (
    dice_table,
    faithfulness_table,
    generalisation_table,
    localisation_table,
    noise_table,
    overfitting_table,
    perturbation_table,
    relevance_table,
    sanity_table,
)
from .experiments import EXPERIMENTS, run_experiment, run_relevance
from .gan_report import render_gan_markdown
from .sftgan_photos import SECTION_HEADING as PHOTOS_SECTION_HEADING
from .sftgan_photos import photos_section

RESULTS_PATH = REPOSITORY_ROOT / "docs" / "results.md"


def cnn_accuracy_table(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    lines = [
        "| model | architecture | dataset | parameters | train / test images | best epoch | validation acc. | test acc. |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in read_manifest(checkpoint_dir):
        m = entry["metrics"]
        lines.append(
            f"| `{entry['id']}` | {entry['arch']} | {entry['dataset']} | {entry['parameters']:,} | "
            f"{m['n_train']:,} / {m['n_test']:,} | {m['best_epoch']} of {m['epochs_run']} | "
            f"{m['val_accuracy']:.2%} | **{m['test_accuracy']:.2%}** |"
        )
    return "\n".join(lines)


PAPER_LSFT_DICE = 0.6588  # Guna et al., Table 2: average Dice of LSFT-GAN vs binarised Grad-CAM, strategy 1


def sftgan_tables(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    """Held-out-class agreement of each shipped generator with Grad-CAM, overall and per pair."""
    entries = read_manifest(checkpoint_dir, "generators")
    if not entries:
        return "No generator is shipped yet (`python -m xai_core reproduce-checkpoints --generators`)."
    lines = [
        "| generator | strategy | parameters | epochs | train / held-out images | held-out MSE | held-out Dice (ours) | Dice (paper) |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for entry in entries:
        m = entry["metrics"]
        n_train = sum(pair["n_train"] for pair in entry["pairs"])
        paper = f"{PAPER_LSFT_DICE:.4f}" if entry["kind"] == "lsft" and entry["strategy"] == "symbols" else "-"
        lines.append(
            f"| `{entry['id']}` | {entry['strategy']} | {entry['parameters']:,} | {m['epochs_run']} | "
            f"{n_train:,} / {m['n_val']:,} | {m['val_mse']:.4f} | **{m['val_dice']:.4f}** | {paper} |"
        )
    pairs = sorted({model for entry in entries for model in entry["metrics"]["per_pair"]})
    ids = [entry["id"] for entry in entries]
    per_pair = [
        "| dataset/CNN pair | held-out classes | " + " | ".join(f"`{i}` Dice" for i in ids) + " |",
        "| --- | --- |" + " ---: |" * len(ids),
    ]
    for model in pairs:
        pair = next(p for e in entries for p in e["pairs"] if p["model"] == model)
        heldout = _heldout_text(pair)
        cells = [f"{e['metrics']['per_pair'][model]['dice']:.4f}" if model in e["metrics"]["per_pair"] else "-" for e in entries]
        per_pair.append(f"| `{model}` | {heldout} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nPer pair (held-out classes only):\n\n" + "\n".join(per_pair)


GENERATORS_SECTION_HEADING = "## SFT-GAN generators: agreement with Grad-CAM on unseen classes (paper Table 2)"


def generators_section(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    """The generators section of docs/results.md, from the manifest alone (``report-results --generators-only``)."""
    return f"""{GENERATORS_SECTION_HEADING}

Each generator is trained on every (dataset, CNN) pair of its strategy, on images of each dataset's
**train split** only (the evaluation tables below use the test splits, which no generator saw), and
within it on images of 80 % of the classes; the figures are on images of the held-out 20 %, which it
never saw. For the *photos* strategy (EfficientNet-Lite0 at 224 px on random views of 13 offline
photos) the classes are the CNN's predicted ImageNet classes, and the held-out images are the views
of 3 held-out photos: no view of a training photo, and no held-out class, is trained on. Dice is
computed on maps binarised at 127 (of 255) against the binarised final-layer Grad-CAM, averaged
over images, at the generator's working size (64 px for photos); MSE is against the Grad-CAM map
itself. The paper reports the average Dice of LSFT-GAN for strategy 1 (symbols) only, over
EMNIST/MNIST/Chinese-numeral pairs with VGG16-class CNNs; ours are smaller CNNs on the datasets that
work offline (see DESIGN.md).

{sftgan_tables(checkpoint_dir)}
"""


def write_generator_results(path: Path = RESULTS_PATH, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> Path:
    """Replace only the generators sections of an existing docs/results.md (after retraining generators): the
    manifest's figures, and the photos generators' from their committed summary."""
    document = replace_section(existing_results(path), GENERATORS_SECTION_HEADING, generators_section(checkpoint_dir))
    document = _with_photos_section(document)
    if STALE_NOTE not in document:  # the evaluation tables still hold the generators they were computed with
        document = document.replace(EVALUATION_HEADING + "\n", EVALUATION_HEADING + "\n\n" + STALE_NOTE + "\n", 1)
    path.write_text(document)
    return path


EVALUATION_HEADING = "## Evaluation: the SFT-GAN paper's tables beside ours"
STALE_NOTE = (
    "> Written by `report-results --generators-only`: the LSFT/GSFT figures in the evaluation tables below were "
    "computed with earlier generators, not the ones listed above; `python -m xai_core report-results --evaluation-only "
    "--rerun` recomputes them (and drops this note)."
)


def _with_photos_section(document: str) -> str:
    """``document`` with the photos section right after the generators section (replaced when present)."""
    if PHOTOS_SECTION_HEADING in document:
        return replace_section(document, PHOTOS_SECTION_HEADING, photos_section())
    before, heading, rest = document.partition(GENERATORS_SECTION_HEADING)
    body, next_heading, after = rest.partition("\n## ")
    return before + heading + body.rstrip("\n") + "\n\n" + photos_section() + ("\n## " + after if next_heading else "")


def _heldout_text(pair: dict) -> str:
    """The held-out classes of a pair (their count when many), and its held-out photos when it has some."""
    classes = pair["heldout_classes"]
    text = str(classes) if len(classes) <= 12 else f"{len(classes)} predicted classes"
    if not pair.get("heldout_photos"):
        return text
    names = photo_names("train") if pair["dataset"] == "photo_views" else None
    return text + "; photos " + ", ".join(names[i] if names else str(i) for i in pair["heldout_photos"])


def render_results_markdown(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR, evaluation: str = "") -> str:
    return f"""# Results

Regenerate this file with `python -m xai_core report-results`. The model and generator figures are
read from `checkpoints/manifest.json` (which `python -m xai_core reproduce-checkpoints` rewrites);
the evaluation figures come from the pinned suite runs in `xai_core/reports/experiments.py`, which the
command runs (or reuses from `runs/evaluation/`; `--rerun` recomputes them).

## Shipped CNNs (seed 0, CPU)

Test accuracy on each dataset's held-out test split. Validation accuracy is on a class-stratified
10 % of the training split (used for early stopping). For `shapes_biased` the validation images
come from the training distribution, whose background hue leaks the label, while the test images
have random backgrounds: the gap between the two is the overfitting the SFT-GAN paper's
§4.3.6 experiment is about.

{cnn_accuracy_table(checkpoint_dir)}

The SFT-GAN paper trains its CNNs on EMNIST, Animals-10 and Cats vs Dogs; it reports no
classifier accuracies to compare with. DESIGN.md expects >= 98 % on MNIST.

{generators_section(checkpoint_dir)}{evaluation}"""


def render_evaluation_markdown(results: dict[str, EvaluationResult], relevance: dict[str, dict]) -> str:
    """The evaluation sections (paper Tables 1-3, Figs. 13 and 15, §4.3.4, §4.3.6, sanity checks).
    Long: a document template, read top to bottom like the sections it writes."""
    symbols, objects = results["symbols"], results["objects"]
    sanity = results["sanity"]

    def run_line(name: str) -> str:
        config = results[name].config
        return (
            f"*Run `{name}`: {len(config['pairs'])} pairs, {config['n']} images per pair and seed (drawn by the seed from "
            f"the split), seeds {', '.join(map(str, config['seeds']))}; mean over images per seed, then mean ± std over seeds.*"
        )

    skipped_by_reason: dict[tuple[str, str], list[str]] = {}
    for result in results.values():
        for entry in result.skipped:
            skipped_by_reason.setdefault((entry["method"], entry["reason"]), []).append(f"`{entry['pair']}`")
    skipped = [f"`{method}` on {', '.join(dict.fromkeys(pairs))} ({reason})" for (method, reason), pairs in skipped_by_reason.items()]
    return f"""
## Evaluation: the SFT-GAN paper's tables beside ours

Definitions are pinned in DESIGN.md ("Methods, pinned") and tested in `tests/metrics/`. Maps are
binarised at 127 of 255; energy-map confidences are softmax probabilities of the true class; win %
is against Grad-CAM. The paper's text states only a few of its numbers (Table 2's LSFT average and
Table 3's LSFT row); where it gives none, the column says so and the sentence under each table checks
the paper's qualitative claim against ours. Our CNNs are small and trained on CPU (see above), the
paper's are ImageNet-pretrained VGG16/ResNet50/MobileNet, so differences in the faithfulness
figures come partly from the classifiers. Images are drawn from each pair's test split, so for the
generators they include both the classes they trained on and the held-out ones (the held-out-only
Dice is in the generator table above).

### Table 1: localisation against ground-truth masks (strategy 1, symbols)

{run_line("symbols")} Stroke masks (pixels above 127) are the foreground, as in the paper.
TP and FN are shares of the foreground pixels, TN and FP of the background pixels.

{localisation_table(symbols.rows)}

### Table 2: Dice against binarised Grad-CAM (strategy 1)

{dice_table(symbols.rows)}

### Table 3: faithfulness (average drop, increase in confidence, win vs Grad-CAM)

The symbols rows come from the `symbols` run above. {run_line("objects")}

{faithfulness_table({"symbols": symbols.rows, "objects": objects.rows})}

Beyond the paper, deletion and insertion AUC (RISE; {objects.config["settings"]["perturbation_steps"]} steps; deletion to black,
insertion onto a blurred copy) on the object pairs:

{perturbation_table(objects.rows)}

### Fig. 13: background error under salt-and-pepper noise (strategy 1)

Background error = sum((1 - GT) * M) / sum(1 - GT) on the first {symbols.config["settings"]["robustness_images"]} images of each
sample, explaining the same class as on the clean image.

{noise_table(symbols.rows)}

### Fig. 15: average relevance of each CGMA (LSFT)

Relevance of CGMA k = sum over pixels of |L(S) - L(S with CGMA k zeroed)|, averaged over
{next(iter(relevance.values()))["images"] if relevance else 0} test images per seed; mean ± std over seeds
{", ".join(map(str, next(iter(relevance.values()))["seeds"])) if relevance else ""}.

{relevance_table(relevance)}

### §4.3.4: generalisation to unseen datasets and architectures

{run_line("generalisation")} Each generator was trained on one strategy's datasets; EfficientNet-Lite0
(ImageNet-pretrained, 49 conv layers) and its photos are unseen by both. On photos the target is the
CNN's prediction (they have no ImageNet labels); there are only 12 photos, so every seed sees all of
them and the std over seeds is 0.

{generalisation_table(results["generalisation"].rows)}

### §4.3.6: an overfitted CNN

{run_line("overfitting")} The `shapes_biased` CNNs learnt their labels from the background hue of their
training images; the `shapes` CNNs did not. Both are explained on the same leaking training images of
`shapes_biased`; "mass inside mask" is the energy-based pointing game, sum(M * GT) / sum(M).

{overfitting_table(results["overfitting"].rows)}

### Sanity check: cascading model randomisation (Adebayo et al. 2018)

{run_line("sanity")} Layers are re-initialised from the output towards the input; a method passes on a
model when the Spearman rank correlation of its maps with the trained model's maps falls below
{sanity.config["settings"]["sanity_threshold"]} once every layer is random. The Explain page shows these verdicts as badges
(`assets/evaluation/sanity.json`).

{sanity_table(sanity.rows, sanity.config["settings"]["sanity_threshold"])}
""" + (f"\nNot applicable and skipped: {'; '.join(skipped)}.\n" if skipped else "")


GAN_SECTION_HEADING = "\n## Explainable GAN"
CAPTIONING_SECTION_HEADING = "\n## Captioning: explaining a captioner word by word"  # written by captioning-results


def replace_section(document: str, heading: str, section: str) -> str:
    """``document`` with its level-2 section ``heading`` (up to the next level-2 heading) replaced by ``section``,
    or with ``section`` appended when it has none."""
    before, found, rest = document.partition(heading)
    if not found:
        return document.rstrip("\n") + "\n\n" + section
    _, next_heading, after = rest.partition("\n## ")
    return before.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + (("\n## " + after) if next_heading else "")


def section_of(document: str, heading: str) -> str:
    """The level-2 section ``heading`` of ``document`` (to the next level-2 heading), or "" when it has none."""
    _, found, rest = document.partition(heading)
    return (heading.strip() + rest.partition("\n## ")[0]).rstrip("\n") + "\n" if found else ""


def existing_results(path: Path) -> str:
    """The text of an existing docs/results.md; ValueError naming the command that writes it first."""
    if not path.is_file():
        raise ValueError(f"{path} does not exist yet: run report-results first")
    return path.read_text()


def write_gan_results(path: Path = RESULTS_PATH, rerun: bool = False, on_progress: Callable[[float, str], None] | None = None) -> Path:
    """Rerun (or reuse) only the GAN experiments and replace the GAN sections of an existing docs/results.md."""
    recorded = existing_results(path)
    section = render_gan_markdown(run_gan_experiments(rerun=rerun, on_progress=on_progress))
    path.write_text(replace_section(recorded, GAN_SECTION_HEADING, section))
    return path


def _staged(on_progress: Callable[[float, str], None] | None, stages: int) -> Callable[[int, str], Callable[[float, str], None]]:
    def stage(index: int, name: str) -> Callable[[float, str], None]:
        def report(fraction: float, message: str) -> None:
            if on_progress is not None:
                on_progress((index + fraction) / stages, f"{name}: {message}")

        return report

    return stage


def _evaluation(rerun: bool, stage: Callable[[int, str], Callable[[float, str], None]]) -> str:
    """Run (or reuse) every pinned suite experiment and the CGMA relevance, record the sanity verdicts, and render
    the evaluation section (stages 0 .. len(EXPERIMENTS))."""
    results = {}
    for i, (name, experiment) in enumerate(EXPERIMENTS.items()):
        results[name] = run_experiment(experiment, rerun, on_progress=stage(i, name))
    relevance = run_relevance(rerun=rerun, on_progress=stage(len(EXPERIMENTS), "relevance"))
    write_sanity_verdicts(results["sanity"])
    return render_evaluation_markdown(results, relevance)


def write_evaluation_results(
    path: Path = RESULTS_PATH, rerun: bool = False, on_progress: Callable[[float, str], None] | None = None
) -> Path:
    """Rerun (or reuse) only the SFT-GAN evaluation experiments and replace the evaluation section of an existing
    docs/results.md (with the generators sections, from the manifest); the GAN and captioning sections are kept."""
    recorded = existing_results(path)
    section = _evaluation(rerun, _staged(on_progress, len(EXPERIMENTS) + 1))
    document = replace_section(recorded, GENERATORS_SECTION_HEADING, generators_section())
    path.write_text(_with_photos_section(replace_section(document, EVALUATION_HEADING, section.lstrip("\n"))))
    return path


def write_results(path: Path = RESULTS_PATH, rerun: bool = False, on_progress: Callable[[float, str], None] | None = None) -> Path:
    """Run (or reuse) every pinned experiment, record the sanity verdicts, and write docs/results.md."""
    stage = _staged(on_progress, len(EXPERIMENTS) + 2)  # the suite runs, CGMA relevance, the GAN experiments
    evaluation = _evaluation(rerun, stage)
    gan_results = run_gan_experiments(rerun=rerun, on_progress=stage(len(EXPERIMENTS) + 1, "GAN experiments"))
    captioning = section_of(path.read_text(), CAPTIONING_SECTION_HEADING) if path.is_file() else ""  # kept: written by captioning-results
    path.parent.mkdir(parents=True, exist_ok=True)
    document = render_results_markdown(evaluation=evaluation + render_gan_markdown(gan_results))
    document = _with_photos_section(document)
    path.write_text(replace_section(document, CAPTIONING_SECTION_HEADING, captioning) if captioning else document)
    return path
