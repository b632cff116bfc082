"""The photos generators' results section: rendered only from its committed summary, with a verdict that follows
the numbers, placed after the generators section of docs/results.md."""

import json

from xai_core.reports import results
from xai_core.reports.sftgan_photos import LAST_BLOCK, SECTION_HEADING, STRESS_MODEL, photos_section


def _summary(dice: float) -> dict:
    generator = {"sha256": "0" * 64, "seed": 0, "val_dice": 0.7, "val_mse": 0.03, "n_val": 462, "best_epoch": 2, "epochs": 12}
    scores = {"dice": dice, "dice_std": 0.1, "mse": 0.04, "n": 400}
    window = {"dice": 0.66, "dice_std": 0.2, "mse": 0.05, "n": 400}
    return {
        "test_split": {"dataset": "photo_views", "split": "test", "images": 400},
        "generators": {"lsft-photos": generator, "gsft-photos": generator | {"best_epoch": None}},
        "test": {
            "efficientnet_lite0-imagenet": {"lsft-photos": scores, "gsft-photos": scores | {"dice": dice - 0.1}, LAST_BLOCK: window},
            STRESS_MODEL: {"lsft-photos": scores, "gsft-photos": scores, LAST_BLOCK: window},
        },
    }


def test_the_section_reads_the_summary_and_the_verdict_follows_it(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary(0.71)))
    section = photos_section(path)
    assert "| `lsft-photos` | 0 | 2 (12) | 0.7000 | 0.0300 | **0.7100** ± 0.1000 | 0.0400 | 0.7100 | 0.0400 |" in section
    assert "| `gsft-photos` | 0 | 12 (12) |" in section
    assert "reaches Dice 0.7100 for EfficientNet-Lite0, which **misses** the goal of 0.80" in section
    assert "the final Grad-CAM at Dice 0.6600 on the same test views" in section
    path.write_text(json.dumps(_summary(0.85)))
    assert "which meets the goal of 0.80" in photos_section(path)
    assert "Not measured yet" in photos_section(tmp_path / "missing.json")


def test_the_section_follows_the_generators_section(tmp_path, monkeypatch):
    document = f"# Results\n\n{results.GENERATORS_SECTION_HEADING}\n\nold table\n\n## Evaluation\n\nkept\n"
    monkeypatch.setattr(results, "photos_section", lambda: f"{SECTION_HEADING}\n\nphotos table\n")
    once = results._with_photos_section(document)
    assert once.index(results.GENERATORS_SECTION_HEADING) < once.index(SECTION_HEADING) < once.index("## Evaluation")
    assert results._with_photos_section(once) == once and once.endswith("## Evaluation\n\nkept\n")
