"""Regenerates ``docs/results.md`` from recorded figures (``python -m xai_core report-results``)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from pathlib import Path

from ..attribution.agreement import WITNESS_SHARE
from ..data import load_dataset
from ..data.photo_views import photo_names
from ..metrics.gan_experiments import merge_gan_experiments, run_gan_experiments
from ..metrics.suite import EvaluationResult, write_sanity_verdicts
from ..models.checkpoints import DEFAULT_CHECKPOINT_DIR, REPOSITORY_ROOT, read_manifest
from ..models.registry import EFFICIENTNET_LITE0_ID
from ..sftgan.data import ARCHITECTURES, STRATEGIES
from .dataset_count import dataset_count_section
from .evaluation_report import (
    OVERFITTED_DATASET,
    dice_table,
    extra_regions_table,
    faithfulness_table,
    generalisation_table,
    localisation_table,
    noise_table,
    overfitting_table,
    perturbation_table,
    relevance_table,
    sanity_table,
    unseen_symbols_table,
)
from .experiments import EXPERIMENTS, run_experiment, run_relevance
from .gan_dynamics import gan_dynamics_section
from .gan_report import render_gan_markdown
from .gan_trials import gan_trials_section
from .sftgan_photos import SECTION_HEADING as PHOTOS_SECTION_HEADING
from .sftgan_photos import model_conv_layers, photos_section
from .summaries import DATA_DIR, read_evaluation_summary, read_json_summary, write_evaluation_summary, write_json_summary

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


def paper_setup_text(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    """The SFT-GAN paper's datasets, CNNs and reported accuracies (§4.1) beside ours, per strategy."""
    entries = read_manifest(checkpoint_dir)
    lines = [
        "The SFT-GAN paper (§4.1) trains 9 CNNs per strategy, VGG16, ResNet50 and MobileNet transfer-learned from",
        "ImageNet for 20 epochs: on MNIST, EMNIST and Chinese MNIST (strategy 1, similar semantics) and on CIFAR-10,",
        "Animals-10 and Food-11 (strategy 2, dissimilar semantics). Ours stand in for them with small CNNs of the same",
        "three families trained from scratch on data that works offline (DESIGN.md): symbols are mnist, glyphs (rendered",
        "Latin letters, for EMNIST) and digits (sklearn's 8x8 handwriting); objects are shapes, shapes_biased and",
        "fashion_mnist. `shapes_biased` is overfitted on purpose (§4.3.6), so it is left out of the comparison below.",
        "",
        "| strategy | paper's test accuracy (§4.1) | ours: lowest | ours: mean | our CNNs |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for strategy, paper in PAPER_CNN_ACCURACY.items():
        accuracies = [
            entry["metrics"]["test_accuracy"]
            for entry in entries
            if entry["dataset"] in STRATEGIES[strategy] and entry["dataset"] != "shapes_biased" and entry["arch"] in ARCHITECTURES
        ]
        lines.append(
            f"| {strategy} | {paper} | {min(accuracies):.2%} | {sum(accuracies) / len(accuracies):.2%} | {len(accuracies)} |"
            if accuracies
            else f"| {strategy} | {paper} | - | - | 0 |"
        )
    return "\n".join(lines)


PAPER_CNN_ACCURACY = {
    "symbols": "above 95 % for each of its 9 models; 99 % on average on Chinese MNIST",
    "objects": "above 90 % on average for each CNN; 95 % on average on Animals-10",
}
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
    """The generators section of docs/results.md, from the manifest alone."""
    return f"""{GENERATORS_SECTION_HEADING}

Each generator is trained on every (dataset, CNN) pair of its strategy, on images of each dataset's
**train split** only (the evaluation tables below use the test splits, which no generator saw), and
within it on images of 80 % of the classes; the figures are on images of the held-out 20 %, which it
never saw. For the *photos* strategy (EfficientNet-Lite0 at 224 px on random views of 13 offline
photos) the classes are the CNN's predicted ImageNet classes, and the held-out images are the views
of 3 held-out photos: no view of a training photo, and no held-out class, is trained on. Dice is
computed on maps binarised at 127 (of 255) against the binarised final-layer Grad-CAM, averaged
over images, at the generator's working size (64 px for photos); MSE is against the Grad-CAM map
itself. The paper reports the average Dice of LSFT-GAN for strategy 1 (symbols) only, over its
MNIST, EMNIST and Chinese MNIST pairs with VGG16, ResNet50 and MobileNet; ours are smaller CNNs on the
datasets that work offline (see above and DESIGN.md).

{sftgan_tables(checkpoint_dir)}
"""


EVALUATION_HEADING = "## Evaluation: the SFT-GAN paper's tables beside ours"


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

Every figure here is rendered by `python -m xai_core report-results` from committed files only:
`checkpoints/manifest.json` (models, generators, GANs) and the summaries under `docs/data/` (the per-seed
mean of every run, and small JSON summaries of the rest). `python -m xai_core report-results --check`
re-renders this file and fails on any difference (a test runs it); `report-results --rerun --quick` re-runs
a pinned subset and compares it with the summaries within stated tolerances. The summaries are recorded by
`report-results --evaluation-only` (the pinned suite runs of `xai_core/reports/experiments.py`, reused from
`runs/evaluation/` unless `--rerun`), `--gan-only`, `--photos`, and `captioning-results --write`.

## Shipped CNNs (seed 0, CPU)

Test accuracy on each dataset's held-out test split. Validation accuracy is on a class-stratified
10 % of the training split (used for early stopping). For `shapes_biased` the validation images
come from the training distribution, whose background hue leaks the label, while the test images
have random backgrounds: the gap between the two is the overfitting the SFT-GAN paper's
§4.3.6 experiment is about.

{cnn_accuracy_table(checkpoint_dir)}

{paper_setup_text(checkpoint_dir)}

{generators_section(checkpoint_dir)}{evaluation}"""


def render_evaluation_markdown(
    results: dict[str, EvaluationResult], relevance: dict[str, dict], changed: Sequence[str] = (), dataset_count: str = ""
) -> str:
    """The evaluation sections (paper Tables 1-3, Figs. 13 and 15, §4.3.4, §4.3.6, sanity checks); ``changed`` names
    the generators whose weights differ from those the runs used. Long: a document template, read top to bottom."""
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
    stale = (
        f"> The generators {', '.join(f'`{g}`' for g in changed)} were retrained after these runs: their figures below are of "
        "the earlier weights. `python -m xai_core report-results --evaluation-only --rerun` recomputes them.\n\n"
        if changed
        else ""
    )
    return f"""
## Evaluation: the SFT-GAN paper's tables beside ours

{stale}Definitions are pinned in DESIGN.md ("Methods, pinned") and tested in `tests/metrics/`. Maps are
binarised at 127 of 255; energy-map confidences are softmax probabilities of the true class; win %
is against Grad-CAM. One figure is ahead of another *beyond the spread* when the gap between their means exceeds
the larger of their two stds over seeds, and *in every seed* when it is ahead seed by seed (a seed draws the same
images for every method) by less than that. The paper's text states only a few of its numbers (Table 2's LSFT average and
Table 3's LSFT row); where it gives none, the column says so and the sentence under each table checks
the paper's qualitative claim against ours. Our CNNs are small and trained on CPU (see above), the
paper's are ImageNet-pretrained VGG16/ResNet50/MobileNet, so differences in the faithfulness
figures come partly from the classifiers. Images are drawn from each pair's test split, so for the
generators they include both the classes they trained on and the held-out ones (the held-out-only
Dice is in the generator table above).

### Table 1: localisation against ground-truth masks (strategy 1, symbols)

{run_line("symbols")} The foreground is the stroke mask (pixels of the rendered or written symbol above 127 of 255);
the paper does not say how it obtained its ground truths.
TP and FN are shares of the foreground pixels, TN and FP of the background pixels.

{localisation_table(symbols.rows)}

### Table 2: Dice against binarised Grad-CAM (strategy 1)

{dice_table(symbols.rows)}

### Table 3: faithfulness (average drop, increase in confidence, win vs Grad-CAM)

The symbols rows come from the `symbols` run above. {run_line("objects")}

{faithfulness_table({"symbols": symbols.rows, "objects": objects.rows})}

Beyond the paper, deletion and insertion AUC (RISE; {objects.config["settings"]["perturbation_steps"]} steps; deletion to black,
insertion onto a blurred copy) on the object pairs, all of them and without the overfitted `{OVERFITTED_DATASET}` ones:

{perturbation_table({"objects": objects.rows})}

### §4.3.2 / Fig. 6: the regions LSFT adds to Grad-CAM, against Vanilla Saliency

{run_line("extra_regions")} A generator's *extra region* is where its map, binarised at 127, is on and
Grad-CAM's is off. Vanilla Saliency marks its top {round(100 * WITNESS_SHARE)} % of pixels; the table gives the share of the extra
region it marks, beside the share of every pixel outside Grad-CAM it marks (what a random extra region would get).

{extra_regions_table(results["extra_regions"].rows)}

{dataset_count}
### Fig. 13: background error under salt-and-pepper noise (strategy 1)

Background error (Eq. 9) = sum((1 - GT) * M) / sum(1 - GT) on the first {symbols.config["settings"]["robustness_images"]} images of each
sample, explaining the same class as on the clean image. An all-zero map scores a perfect 0 under Eq. 9 (and a
constant map is normalised to zeros), so beside it are the map's mass (mean value), the share of empty maps
(largest value below 1e-6) and the background share sum((1 - GT) * M) / sum(M), averaged over non-empty maps.

{noise_table(symbols.rows)}

### Fig. 15: average relevance of each CGMA (LSFT)

Relevance of CGMA k = sum over pixels of |L(S) - L(S with CGMA k zeroed)|, averaged over
{next(iter(relevance.values()))["images"] if relevance else 0} test images per seed; mean ± std over seeds
{", ".join(map(str, next(iter(relevance.values()))["seeds"])) if relevance else ""}.

{relevance_table(relevance)}

### §4.3.4: generalisation to unseen datasets and architectures

{run_line("generalisation")} Each generator was trained on one strategy's datasets with our
VGG, ResNet and MobileNet CNNs. So a pair of the other strategy is an *unseen dataset* on a seen architecture;
EfficientNet-Lite0 (ImageNet-pretrained, {model_conv_layers(EFFICIENTNET_LITE0_ID)} conv layers) on photos is the only
*unseen architecture* (and an unseen dataset). On photos the target is the CNN's prediction (they have no ImageNet labels); there are only
{len(load_dataset("photos"))} photos, so every seed sees all of them and the std over seeds is 0.

{generalisation_table(results["generalisation"].rows)}

### §4.3.5: the strategies on an unseen symbol set

{run_line("unseen_symbols")} `vgg-glyphs_cjk` classifies the Chinese numerals one to ten (rendered in a CJK
font, with exact stroke masks), a symbol set in neither strategy, as the paper's Tamil characters are; its test
accuracy is in the CNN table above. Both strategies' generators explain it.

{unseen_symbols_table(results["unseen_symbols"].rows)}

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
CAPTIONING_SECTION_HEADING = "\n## Captioning: explaining a captioner word by word"


def replace_section(document: str, heading: str, section: str) -> str:
    """``document`` with its level-2 section ``heading`` (up to the next level-2 heading) replaced by ``section``,
    or with ``section`` appended when it has none."""
    before, found, rest = document.partition(heading)
    if not found:
        return document.rstrip("\n") + "\n\n" + section
    _, next_heading, after = rest.partition("\n## ")
    return before.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n" + (("\n## " + after) if next_heading else "")


def _staged(on_progress: Callable[[float, str], None] | None, stages: int) -> Callable[[int, str], Callable[[float, str], None]]:
    def stage(index: int, name: str) -> Callable[[float, str], None]:
        def report(fraction: float, message: str) -> None:
            if on_progress is not None:
                on_progress((index + fraction) / stages, f"{name}: {message}")

        return report

    return stage


def generator_hashes(methods: Sequence[str], checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> dict[str, str]:
    """{generator id: sha256} of the shipped SFT-GAN generators ``methods`` name ("lsft" is `lsft-symbols` or
    `lsft-objects` by pair, so both count)."""
    shipped = {entry["id"]: entry["sha256"] for entry in read_manifest(checkpoint_dir, "generators")}
    return {
        generator: sha
        for generator, sha in shipped.items()
        if any(method == generator or (method in ("lsft", "gsft") and generator.startswith(method + "-")) for method in methods)
    }


def record_evaluation(rerun: bool = False, on_progress: Callable[[float, str], None] | None = None, data_dir: Path = DATA_DIR) -> None:
    """Run (or reuse from ``runs/evaluation``) every pinned suite experiment and the CGMA relevance, and commit their
    per-seed summaries to ``data_dir`` (and the sanity verdicts to assets/evaluation/sanity.json)."""
    stage = _staged(on_progress, len(EXPERIMENTS) + 1)
    for i, (name, experiment) in enumerate(EXPERIMENTS.items()):
        result = run_experiment(experiment, rerun, on_progress=stage(i, name))
        write_evaluation_summary(name, result, generator_hashes(experiment.methods), data_dir)
        if name == "sanity":
            write_sanity_verdicts(result)
    relevance = run_relevance(rerun=rerun, on_progress=stage(len(EXPERIMENTS), "relevance"))
    write_json_summary("evaluation/relevance", {"pairs": relevance, "generators": generator_hashes(("lsft",))}, data_dir)


def record_gan(
    rerun: bool = False,
    on_progress: Callable[[float, str], None] | None = None,
    data_dir: Path = DATA_DIR,
    datasets: Sequence[str] | None = None,
) -> None:
    """Run (or reuse from ``runs/gan-results``) the GAN experiments and commit their summary to ``data_dir``; with
    ``datasets``, only those datasets' experiments, merged into the committed summary (the others stay as recorded)."""
    if datasets is None:
        write_json_summary("gan_experiments", run_gan_experiments(rerun=rerun, on_progress=on_progress), data_dir)
        return
    fresh = run_gan_experiments(rerun=rerun, on_progress=on_progress, datasets=datasets)
    write_json_summary("gan_experiments", merge_gan_experiments(read_json_summary("gan_experiments", data_dir) or {}, fresh), data_dir)


def evaluation_section(data_dir: Path = DATA_DIR, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    """The evaluation section from the committed summaries, with a note when a generator changed since they ran."""
    results, used = {}, {}
    try:
        for name in EXPERIMENTS:
            results[name], generators = read_evaluation_summary(name, data_dir)
            used.update(generators)
    except ValueError as missing:
        return f"{EVALUATION_HEADING}\n\nNot recorded yet ({missing}).\n"
    relevance = read_json_summary("evaluation/relevance", data_dir) or {"pairs": {}, "generators": {}}
    used.update(relevance["generators"])
    shipped = {entry["id"]: entry["sha256"] for entry in read_manifest(checkpoint_dir, "generators")}
    changed = sorted(g for g, sha in used.items() if shipped.get(g) != sha)
    return render_evaluation_markdown(results, relevance["pairs"], changed, dataset_count_section(data_dir))


def gan_section(data_dir: Path = DATA_DIR) -> str:
    recorded = read_json_summary("gan_experiments", data_dir)
    if recorded is None:
        return GAN_SECTION_HEADING.strip() + "\n\nNot recorded yet: `python -m xai_core report-results --gan-only`.\n"
    return render_gan_markdown(recorded, gan_trials_section(data_dir) + "\n" + gan_dynamics_section(list(recorded["fid"]), data_dir))


def render_document(captioning_section: str, checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR, data_dir: Path = DATA_DIR) -> str:
    """docs/results.md, every figure from checkpoints/manifest.json and the committed summaries under ``data_dir``;
    ``captioning_section`` is rendered by :mod:`xai_core.captioning.results` (a layer above) from its summary."""
    document = render_results_markdown(checkpoint_dir, evaluation="\n" + evaluation_section(data_dir, checkpoint_dir))
    document = _with_photos_section(document)
    document = document.rstrip("\n") + "\n\n" + gan_section(data_dir).strip("\n") + "\n"
    return document.rstrip("\n") + "\n\n" + captioning_section.strip("\n") + "\n"


def check_document(rendered: str, path: Path = RESULTS_PATH) -> list[str]:
    """The unified diff between ``path`` and ``rendered`` (empty when docs/results.md follows from the summaries)."""
    recorded = path.read_text() if path.is_file() else ""
    return list(difflib.unified_diff(recorded.splitlines(), rendered.splitlines(), str(path), "rendered from docs/data", lineterm=""))
