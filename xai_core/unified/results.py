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
"""


def write_results(path: Path = RESULTS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_results_markdown())
    return path
