"""Regenerates ``docs/results.md`` from recorded figures (``python -m xai_core report-results``)."""

from __future__ import annotations

from pathlib import Path

from ..models.checkpoints import DEFAULT_CHECKPOINT_DIR, REPOSITORY_ROOT, read_manifest

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
        lines.append(f"| `{entry['id']}` | {entry['strategy']} | {entry['parameters']:,} | {m['epochs_run']} | "
                     f"{n_train:,} / {m['n_val']:,} | {m['val_mse']:.4f} | **{m['val_dice']:.4f}** | {paper} |")
    pairs = sorted({model for entry in entries for model in entry["metrics"]["per_pair"]})
    ids = [entry["id"] for entry in entries]
    per_pair = ["| dataset/CNN pair | held-out classes | " + " | ".join(f"`{i}` Dice" for i in ids) + " |",
                "| --- | --- |" + " ---: |" * len(ids)]
    for model in pairs:
        heldout = next(p["heldout_classes"] for e in entries for p in e["pairs"] if p["model"] == model)
        cells = [f"{e['metrics']['per_pair'][model]['dice']:.4f}" if model in e["metrics"]["per_pair"] else "-" for e in entries]
        per_pair.append(f"| `{model}` | {heldout} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nPer pair (held-out classes only):\n\n" + "\n".join(per_pair)


def render_results_markdown(checkpoint_dir: Path = DEFAULT_CHECKPOINT_DIR) -> str:
    return f"""# Results

Regenerate this file with `python -m xai_core report-results`; every figure below is read from
`checkpoints/manifest.json`, which `python -m xai_core reproduce-checkpoints` rewrites.

## Shipped CNNs (seed 0, CPU)

Test accuracy on each dataset's held-out test split. Validation accuracy is on a class-stratified
10 % of the training split (used for early stopping). For `shapes_biased` the validation images
come from the training distribution, whose background hue leaks the label, while the test images
have random backgrounds: the gap between the two is the overfitting the SFT-GAN paper's
§4.3.6 experiment is about.

{cnn_accuracy_table(checkpoint_dir)}

The SFT-GAN paper trains its CNNs on EMNIST, Animals-10 and Cats vs Dogs; it reports no
classifier accuracies to compare with. DESIGN.md expects >= 98 % on MNIST.

## SFT-GAN generators: agreement with Grad-CAM on unseen classes (paper Table 2)

Each generator is trained on every (dataset, CNN) pair of its strategy, on images of 80 % of each
dataset's classes; the figures are on images of the held-out 20 %, which it never saw. Dice is
computed on maps binarised at 127 (of 255) against the binarised final-layer Grad-CAM, averaged
over images; MSE is against the Grad-CAM map itself. The paper reports the average Dice of
LSFT-GAN for strategy 1 (symbols) only, over EMNIST/MNIST/Chinese-numeral pairs with VGG16-class
CNNs; ours are smaller CNNs on the datasets that work offline (see DESIGN.md).

{sftgan_tables(checkpoint_dir)}
"""


def write_results(path: Path = RESULTS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_results_markdown())
    return path
