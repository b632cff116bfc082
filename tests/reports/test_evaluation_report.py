"""The evaluation part of docs/results.md on hand-made rows: seed statistics (mean over images per seed,
then mean and sample std over seeds, pairs pooled), cell formatting, every table, the paper's numbers in
their columns, and every verdict sentence on both sides of its condition."""

import math
import statistics

import pytest

from xai_core.reports.evaluation_report import (
    NOT_IN_TEXT,
    PAPER_TABLE2_LSFT_DICE,
    PAPER_TABLE3_LSFT,
    cell,
    dice_table,
    faithfulness_table,
    generalisation_table,
    localisation_table,
    noise_table,
    overfitting_table,
    pairs_of,
    perturbation_table,
    relevance_table,
    sanity_table,
    seed_statistics,
)


def row(pair, method, metric, seed, value, level="", image=0):
    return {
        "pair": pair,
        "model": pair.partition("@")[0],
        "dataset": pair.partition("@")[2],
        "split": "test",
        "seed": seed,
        "method": method,
        "metric": metric,
        "level": level,
        "image": image,
        "value": value,
    }


def table_rows(markdown: str) -> list[list[str]]:
    """The body rows of the first markdown table in ``markdown``, as lists of stripped cells."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in lines[2:]]


def header(markdown: str) -> list[str]:
    line = next(line for line in markdown.splitlines() if line.startswith("| "))
    return [c.strip() for c in line.strip("|").split(" | ")]


def verdict(markdown: str) -> str:
    return markdown.split("\n\n", 1)[1]


# --- seed_statistics and cell ----------------------------------------------------------------------

# seed 0: A has two images (0.2, 0.4), B one (0.6) -> pooled 0.4 (the mean of pair means would be 0.45)
# seed 1: A 0.5, B 0.7 -> 0.6;  seed 2: A 0.8 -> 0.8.   Over seeds: mean 0.6, sample std 0.2.
POOLED = [
    row("A", "lsft", "dice", 0, 0.2, image=1),
    row("A", "lsft", "dice", 0, 0.4, image=2),
    row("B", "lsft", "dice", 0, 0.6),
    row("A", "lsft", "dice", 1, 0.5),
    row("B", "lsft", "dice", 1, 0.7),
    row("A", "lsft", "dice", 2, 0.8),
    # rows that must not count: another method, another metric, another level
    row("A", "gsft", "dice", 0, 100.0),
    row("A", "lsft", "tp_rate", 0, 100.0),
    row("A", "lsft", "dice", 0, 100.0, level="0.1"),
]


def test_seed_statistics_pools_pairs_then_averages_seeds():
    mean, std, seeds = seed_statistics(POOLED, "dice", "lsft")
    assert seeds == 3
    assert mean == pytest.approx(0.6)
    assert std == pytest.approx(0.2)  # sample std (n - 1): population std would be 0.1633


def test_seed_statistics_restricted_to_pairs():
    # A only: seeds 0.3, 0.5, 0.8
    mean, std, seeds = seed_statistics(POOLED, "dice", "lsft", pairs=["A"])
    assert seeds == 3
    assert mean == pytest.approx(1.6 / 3)
    assert std == pytest.approx(statistics.stdev([0.3, 0.5, 0.8])) and std == pytest.approx(0.251661, abs=1e-6)
    # B only: seeds 0.6, 0.7 (no seed-2 row)
    mean, std, seeds = seed_statistics(POOLED, "dice", "lsft", pairs=["B"])
    assert (seeds, mean, std) == (2, pytest.approx(0.65), pytest.approx(math.sqrt(0.005)))


def test_seed_statistics_levels_single_seed_and_nothing():
    assert seed_statistics(POOLED, "dice", "lsft", level="0.1") == (100.0, 0.0, 1)  # one seed: std 0
    assert seed_statistics(POOLED, "dice", "gsft") == (100.0, 0.0, 1)
    mean, std, seeds = seed_statistics(POOLED, "dice", "saliency")
    assert seeds == 0 and math.isnan(mean) and math.isnan(std)
    mean, _, seeds = seed_statistics(POOLED, "dice", "lsft", pairs=["C"])
    assert seeds == 0 and math.isnan(mean)


def test_cell_formats_mean_and_std():
    assert cell(POOLED, "dice", "lsft") == "0.600 ± 0.200"
    assert cell(POOLED, "dice", "lsft", digits=2) == "0.60 ± 0.20"
    assert cell(POOLED, "dice", "lsft", pairs=["B"], digits=4) == "0.6500 ± 0.0707"
    assert cell(POOLED, "dice", "gsft", digits=1) == "100.0 ± 0.0"
    assert cell(POOLED, "dice", "saliency") == "-"
    assert pairs_of(POOLED) == ["A", "B"]


# --- Table 1: localisation ---------------------------------------------------------------------------


def localisation_rows(lsft_tp, gsft_tp, lsft_tn, gsft_tn):
    rows = []
    for pair in ("vgg-mnist@mnist", "resnet-glyphs@glyphs"):
        for seed in (0, 1):
            rows += [
                row(pair, "lsft", "tp_rate", seed, lsft_tp),
                row(pair, "gsft", "tp_rate", seed, gsft_tp),
                row(pair, "lsft", "tn_rate", seed, lsft_tn),
                row(pair, "gsft", "tn_rate", seed, gsft_tn),
                row(pair, "grad_cam", "tp_rate", seed, 0.5 + 0.1 * seed),
                row(pair, "lsft", "pointing_game", seed, 1.0),
            ]
    return rows


def test_localisation_table_layout_and_values():
    markdown = localisation_table(localisation_rows(0.4, 0.7, 0.9, 0.8))
    assert header(markdown) == ["pair", "method", "TP rate ↑", "TN rate ↑", "FP rate ↓", "FN rate ↓", "pointing ↑", "energy pointing ↑"]
    body = table_rows(markdown)
    assert [r[:2] for r in body] == [
        [p, m] for p in ("`vgg-mnist@mnist`", "`resnet-glyphs@glyphs`", "**all pairs**") for m in ("Grad-CAM", "LSFT-GAN", "GSFT-GAN")
    ]
    lsft = body[1]
    assert lsft[2:] == ["0.400 ± 0.000", "0.900 ± 0.000", "-", "-", "1.000 ± 0.000", "-"]
    assert body[0][2] == "0.550 ± 0.071"  # Grad-CAM TP: seeds 0.5 and 0.6
    assert body[8][2:4] == ["0.700 ± 0.000", "0.800 ± 0.000"]  # GSFT over all pairs
    text = verdict(markdown)
    assert "TP 0.400 (LSFT) vs 0.700 (GSFT) — as the paper says" in text
    assert "TN 0.900 vs 0.800 — as the paper says" in text


def test_localisation_claims_flip():
    text = verdict(localisation_table(localisation_rows(0.8, 0.7, 0.6, 0.8)))
    assert "TP 0.800 (LSFT) vs 0.700 (GSFT) — the opposite of the paper" in text
    assert "TN 0.600 vs 0.800 — the opposite of the paper" in text


# --- Table 2: Dice -----------------------------------------------------------------------------------


def dice_rows(lsft_values, gsft_values):
    rows = []
    for seed, (lsft, gsft) in enumerate(zip(lsft_values, gsft_values)):
        rows += [
            row("vgg-mnist@mnist", "lsft", "dice", seed, lsft),
            row("vgg-mnist@mnist", "gsft", "dice", seed, gsft),
            row("vgg-glyphs@glyphs", "lsft", "dice", seed, lsft + 0.1),
            row("vgg-glyphs@glyphs", "gsft", "dice", seed, gsft),
        ]
    return rows


def test_dice_table_paper_average_in_its_column():
    markdown = dice_table(dice_rows([0.7, 0.8], [0.5, 0.5]))
    assert header(markdown) == ["pair", "LSFT-GAN Dice", "GSFT-GAN Dice", "paper"]
    body = table_rows(markdown)
    assert body[0] == ["`vgg-mnist@mnist`", "0.750 ± 0.071", "0.500 ± 0.000", NOT_IN_TEXT]
    assert body[1] == ["`vgg-glyphs@glyphs`", "0.850 ± 0.071", "0.500 ± 0.000", NOT_IN_TEXT]
    assert body[2] == ["**average**", "**0.800 ± 0.071**", "**0.500 ± 0.000**", "LSFT 0.6588"]
    assert PAPER_TABLE2_LSFT_DICE == 0.6588


def test_dice_verdict_above_the_paper_and_above_gsft():
    text = verdict(dice_table(dice_rows([0.7, 0.8], [0.5, 0.5])))
    assert text.startswith("Our LSFT average (0.8000) is above the paper's 0.6588.")
    assert "ours has LSFT above GSFT (0.8000 vs 0.5000)." in text
    assert "fall short" not in text and "do not reproduce" not in text


def test_dice_verdict_below_the_paper_and_below_gsft():
    text = verdict(dice_table(dice_rows([0.55, 0.55], [0.7, 0.7])))  # LSFT average 0.6
    assert text.startswith("Our LSFT average (0.6000) is below — we fall short of the paper's 0.6588.")
    assert "ours has LSFT below GSFT (0.6000 vs 0.7000): on this point we do not reproduce the paper." in text


def test_dice_verdict_exactly_the_paper_counts_as_above():
    rows = [row("vgg-mnist@mnist", "lsft", "dice", 0, 0.6588), row("vgg-mnist@mnist", "gsft", "dice", 0, 0.5)]
    assert "is above the paper's 0.6588" in verdict(dice_table(rows))


# --- Table 3: faithfulness ---------------------------------------------------------------------------


def faithfulness_rows(drop, increase, win, pair="vgg-mnist@mnist"):
    rows = []
    for seed, offset in ((0, -1.0), (1, 1.0)):
        rows += [
            row(pair, "lsft", "average_drop", seed, drop + offset),
            row(pair, "lsft", "increase_in_confidence", seed, increase + offset),
            row(pair, "lsft", "win_rate", seed, win + offset),
            row(pair, "grad_cam", "average_drop", seed, 20.0),
            row(pair, "gsft", "win_rate", seed, 40.0),
        ]
    return rows


def test_faithfulness_table_paper_lsft_row():
    markdown = faithfulness_table({"symbols": faithfulness_rows(5.0, 10.0, 60.0), "objects": faithfulness_rows(12.0, 3.0, 50.0)})
    assert header(markdown)[2:] == [
        "average drop % ↓",
        "increase in confidence % ↑",
        "win % vs Grad-CAM ↑",
        "paper (drop / increase / win)",
    ]
    body = table_rows(markdown)
    assert [r[:2] for r in body] == [[g, m] for g in ("symbols", "objects") for m in ("Grad-CAM", "LSFT-GAN", "GSFT-GAN")]
    assert body[1] == ["symbols", "LSFT-GAN", "5.00 ± 1.41", "10.00 ± 1.41", "60.00 ± 1.41", "9.95 / 6.82 / 53.90"]
    assert body[0][2:] == ["20.00 ± 0.00", "-", "-", NOT_IN_TEXT]
    assert body[2][2:] == ["-", "-", "40.00 ± 0.00", NOT_IN_TEXT]
    assert body[4][2:5] == ["12.00 ± 1.41", "3.00 ± 1.41", "50.00 ± 1.41"] and body[4][5] == "9.95 / 6.82 / 53.90"
    assert PAPER_TABLE3_LSFT == {"average_drop": 9.95, "increase_in_confidence": 6.82, "win_rate": 53.9}


def test_faithfulness_verdicts_per_strategy():
    markdown = faithfulness_table({"symbols": faithfulness_rows(5.0, 10.0, 60.0), "objects": faithfulness_rows(12.0, 3.0, 50.0)})
    lines = verdict(markdown).splitlines()
    assert lines[0] == "* symbols: LSFT drop 5.00 %, increase 10.00 %, win 60.0 % — at or better than the paper on all three."
    assert lines[1] == (
        "* objects: LSFT drop 12.00 %, increase 3.00 %, win 50.0 % — we fall short of the paper on "
        "average drop, increase in confidence, win %."
    )


@pytest.mark.parametrize(
    "drop,increase,win,short",
    [
        (10.0, 6.82, 53.9, "average drop"),  # drop above the paper's 9.95 (lower is better)
        (9.95, 6.0, 53.9, "increase in confidence"),  # the paper's drop itself is not short
        (9.0, 7.0, 53.0, "win %"),
    ],
)
def test_faithfulness_each_shortfall_alone(drop, increase, win, short):
    rows = [
        row("p", "lsft", "average_drop", 0, drop),
        row("p", "lsft", "increase_in_confidence", 0, increase),
        row("p", "lsft", "win_rate", 0, win),
    ]
    assert verdict(faithfulness_table({"g": rows})).endswith(f"we fall short of the paper on {short}.")


def test_faithfulness_without_lsft_figures_does_not_claim_the_paper():
    rows = [row("p", "grad_cam", "average_drop", 0, 1.0)]
    text = verdict(faithfulness_table({"g": rows}))
    assert "at or better" not in text and text.endswith("average drop, increase in confidence, win %.")


# --- deletion / insertion ----------------------------------------------------------------------------


def test_perturbation_table():
    rows = [
        row("p", "saliency", "deletion_auc", 0, 0.2),
        row("p", "saliency", "deletion_auc", 1, 0.4),
        row("p", "saliency", "insertion_auc", 0, 0.6),
        row("p", "lsft", "deletion_auc", 0, 0.1),
        row("p", "gsft", "insertion_auc", 0, 0.9),
    ]  # no deletion rows: not listed
    markdown = perturbation_table(rows)
    assert header(markdown) == ["method", "deletion AUC ↓", "insertion AUC ↑"]
    assert table_rows(markdown) == [["Saliency", "0.300 ± 0.141", "0.600 ± 0.000"], ["LSFT-GAN", "0.100 ± 0.000", "-"]]


# --- Fig. 13: noise ----------------------------------------------------------------------------------


def noise_rows(lsft, gsft, grad_cam=None):
    rows = []
    for level, lsft_value, gsft_value in zip(("0.0", "0.05", "0.1"), lsft, gsft):
        for seed in (0, 1):
            rows += [
                row("vgg-mnist@mnist", "lsft", "noise_background_error", seed, lsft_value, level),
                row("vgg-mnist@mnist", "gsft", "noise_background_error", seed, gsft_value, level),
            ]
            if grad_cam is not None:
                rows.append(row("vgg-mnist@mnist", "grad_cam", "noise_background_error", seed, grad_cam, level))
    rows.append(row("vgg-mnist@mnist", "lsft", "dice", 0, 0.5))  # another metric: ignored
    return rows


def test_noise_table_both_claims_hold():
    markdown = noise_table(noise_rows([0.1, 0.2, 0.3], [0.2, 0.4, 0.6], grad_cam=0.25))
    assert header(markdown) == ["method", "p=0.0", "p=0.05", "p=0.1"]
    assert table_rows(markdown) == [
        ["LSFT-GAN", "0.100 ± 0.000", "0.200 ± 0.000", "0.300 ± 0.000"],
        ["GSFT-GAN", "0.200 ± 0.000", "0.400 ± 0.000", "0.600 ± 0.000"],
        ["Grad-CAM", "0.250 ± 0.000", "0.250 ± 0.000", "0.250 ± 0.000"],
    ]
    text = verdict(markdown)
    assert "LSFT is below GSFT at 3 of 3 amounts; the gap (GSFT - LSFT) goes from +0.100 to +0.300; both claims hold." in text


def test_noise_gap_narrowing_does_not_reproduce():
    text = verdict(noise_table(noise_rows([0.1, 0.2, 0.3], [0.4, 0.4, 0.35])))
    assert "below GSFT at 3 of 3 amounts" in text and "from +0.300 to +0.050" in text
    assert text.endswith("; we do not reproduce the paper's claim in full.") and "both claims hold" not in text


def test_noise_lsft_above_at_one_level_does_not_reproduce():
    text = verdict(noise_table(noise_rows([0.1, 0.5, 0.3], [0.2, 0.4, 0.6])))  # widening gap, but above at p=0.05
    assert "LSFT is below GSFT at 2 of 3 amounts" in text and "from +0.100 to +0.300" in text
    assert text.endswith("we do not reproduce the paper's claim in full.")


# --- Fig. 15: relevance ------------------------------------------------------------------------------


def test_relevance_table_values_and_deep_verdict():
    relevance = {
        "vgg-mnist@mnist": {"mean": [1, 1, 1, 1, 2, 2, 2, 9], "std": [0.1] * 8},  # deeper half heavier, top is the last
        "vgg-shapes@shapes": {"mean": [1, 1, 1, 1, 2, 2, 5, 3], "std": [0.3] * 8},  # deeper half heavier, top is CGMA 6
        "vgg-glyphs@glyphs": {"mean": [9, 1, 1, 1, 2, 2, 2, 2], "std": [0.0] * 8},  # shallower half heavier
    }
    markdown = relevance_table(relevance)
    assert header(markdown) == ["pair"] + [f"CGMA {k}" for k in range(8)]
    body = table_rows(markdown)
    assert body[0] == ["`vgg-mnist@mnist`"] + ["1.0 ± 0.1"] * 4 + ["2.0 ± 0.1"] * 3 + ["9.0 ± 0.1"]
    assert body[1][7:] == ["5.0 ± 0.3", "3.0 ± 0.3"]
    text = verdict(markdown)
    assert "deeper half of the CGMAs carries more relevance than the shallower half in 2 of 3 pairs" in text
    assert "the most relevant CGMA is the last one in 1 pairs" in text
    assert text.endswith(": our LSFT leans on the deep CGMAs more than the paper's does.")


def test_relevance_verdict_in_line_with_the_paper():
    relevance = {"a": {"mean": [5, 4, 3, 2, 1, 1, 1, 1], "std": [0] * 8}, "b": {"mean": [1] * 8, "std": [0] * 8}}
    text = verdict(relevance_table(relevance))
    assert "in 0 of 2 pairs" in text and text.endswith(", in line with the paper.")


# --- §4.3.4: generalisation -------------------------------------------------------------------------


def generalisation_rows():
    dice = {
        ("vgg-mnist@mnist", "lsft-symbols"): 0.8,
        ("vgg-mnist@mnist", "lsft-objects"): 0.4,
        ("vgg-shapes@shapes", "lsft-symbols"): 0.2,
        ("vgg-shapes@shapes", "lsft-objects"): 0.6,
        ("efficientnet_lite0-imagenet@photos", "lsft-symbols"): 0.1,
        ("efficientnet_lite0-imagenet@photos", "lsft-objects"): 0.3,
    }
    rows = []
    for (pair, method), value in dice.items():
        rows += [row(pair, method, "dice", 0, value), row(pair, method, "average_drop", 0, 30.0), row(pair, method, "win_rate", 0, 50.0)]
        rows.append(row(pair, "grad_cam", "average_drop", 0, 25.0))
    return rows


def test_generalisation_table_seen_and_unseen():
    markdown = generalisation_table(generalisation_rows())
    assert header(markdown) == ["pair", "generator", "dataset", "Dice vs Grad-CAM ↑", "average drop % ↓", "win % ↑"]
    body = table_rows(markdown)
    assert [r[:3] for r in body] == [
        ["`vgg-mnist@mnist`", "LSFT-GAN (symbols)", "seen"],
        ["`vgg-mnist@mnist`", "LSFT-GAN (objects)", "**unseen**"],
        ["`vgg-shapes@shapes`", "LSFT-GAN (symbols)", "**unseen**"],
        ["`vgg-shapes@shapes`", "LSFT-GAN (objects)", "seen"],
        ["`efficientnet_lite0-imagenet@photos`", "LSFT-GAN (symbols)", "**unseen**"],
        ["`efficientnet_lite0-imagenet@photos`", "LSFT-GAN (objects)", "**unseen**"],
    ]
    assert body[0][3:] == ["0.800 ± 0.000", "30.00 ± 0.00", "50.0 ± 0.0"]
    # unseen: 0.4, 0.2, 0.1, 0.3 -> 0.25; seen: 0.8, 0.6 -> 0.7
    assert verdict(markdown).startswith("Mean Dice vs Grad-CAM on unseen datasets 0.250, on seen ones 0.700.")


def test_generalisation_reads_the_dataset_of_a_training_split_pair():
    rows = [
        row("vgg-shapes_biased@shapes_biased[train]", "lsft-objects", "dice", 0, 0.5),
        row("vgg-shapes_biased@shapes_biased[train]", "lsft-symbols", "dice", 0, 0.1),
    ]
    body = table_rows(generalisation_table(rows))
    assert [r[2] for r in body] == ["seen", "**unseen**"]  # shapes_biased belongs to the objects strategy


# --- §4.3.6: overfitting -----------------------------------------------------------------------------

BIASED = ("vgg-shapes_biased@shapes_biased[train]", "resnet-shapes_biased@shapes_biased[train]")
UNBIASED = ("vgg-shapes@shapes_biased[train]", "resnet-shapes@shapes_biased[train]")


def overfitting_rows(inside: dict[str, tuple[float | None, float | None]]) -> list[dict]:
    """inside: {method: (mass inside the mask for the biased CNNs, for the unbiased ones)}; None leaves that side out."""
    rows = []
    for method, (biased, unbiased) in inside.items():
        for pairs, value in ((BIASED, biased), (UNBIASED, unbiased)):
            if value is None:
                continue
            for pair in pairs:
                rows += [row(pair, method, "energy_pointing_game", 0, value), row(pair, method, "background_error", 0, 1 - value)]
    return rows


def test_overfitting_counts_shifted_methods():
    markdown = overfitting_table(overfitting_rows({"grad_cam": (0.3, 0.6), "saliency": (0.7, 0.5), "lsft": (0.2, None)}))
    body = table_rows(markdown)
    assert body[0] == ["Grad-CAM", "0.300 ± 0.000", "0.600 ± 0.000", "0.700 ± 0.000", "0.400 ± 0.000"]
    assert body[2] == ["LSFT-GAN", "0.200 ± 0.000", "-", "0.800 ± 0.000", "-"]
    text = verdict(markdown)
    # Grad-CAM shifts, Saliency does not, LSFT has no unbiased side and is not compared
    assert text.startswith("1 of 2 methods put less of their mass on the object")
    assert text.endswith("; the remaining methods do not show the shift.")


def test_overfitting_every_method_shifts():
    text = verdict(overfitting_table(overfitting_rows({"grad_cam": (0.3, 0.6), "saliency": (0.4, 0.5), "gsft": (None, 0.9)})))
    assert text.startswith("2 of 2 methods") and text.endswith(", as the paper reports for its overfitted Inception V3.")


def test_overfitting_with_nothing_to_compare_claims_nothing():
    text = verdict(overfitting_table(overfitting_rows({"grad_cam": (0.3, None)})))
    assert text.startswith("0 of 0 methods") and "as the paper reports" not in text


# --- sanity ------------------------------------------------------------------------------------------


def sanity_rows(final: dict[tuple[str, str], float]) -> list[dict]:
    """One cascade per (pair, method): a first step with correlation 0.99, then ``final`` (the last step counts)."""
    rows = []
    for (pair, method), value in final.items():
        for image in (0, 1):
            rows += [
                row(pair, method, "sanity_correlation", 0, 0.99, "fc", image),
                row(pair, method, "sanity_correlation", 0, value + (0.02 if image else -0.02), "conv0", image),
            ]
    return rows


def test_sanity_table_counts_passes_per_method():
    rows = sanity_rows(
        {
            ("vgg-mnist@mnist", "grad_cam"): 0.1,
            ("vgg-shapes@shapes", "grad_cam"): 0.05,
            ("vgg-mnist@mnist", "saliency"): 0.9,
            ("vgg-shapes@shapes", "saliency"): 0.2,
        }
    )
    markdown = sanity_table(rows, 0.5)
    assert header(markdown) == ["method", "models passed", "mean rank corr. after full randomisation", "verdict"]
    assert table_rows(markdown) == [["Grad-CAM", "2 of 2", "0.075", "passes"], ["Saliency", "1 of 2", "0.550", "**fails on some models**"]]
    # a stricter threshold fails Grad-CAM on the first model too
    assert table_rows(sanity_table(rows, 0.08))[0] == ["Grad-CAM", "1 of 2", "0.075", "**fails on some models**"]
    assert table_rows(sanity_table(rows, 0.95))[1] == ["Saliency", "2 of 2", "0.550", "passes"]
