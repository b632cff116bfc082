"""The GAN sections of docs/results.md from constructed results: tables, the paper's figures beside ours,
and the sentences that check the paper's claims."""

import pytest

from xai_core.reports import gan_report


@pytest.fixture
def results(monkeypatch):
    history = [
        {"epoch": e, "loss_g": 3.0 - e / 10, "loss_d": 0.2 + e / 10, "d_real": 0.95 - e / 20, "d_fake": f, "seconds": 1.0}
        for e, f in ((1, 0.05), (2, 0.30), (3, 0.20))
    ]
    monkeypatch.setattr(
        gan_report,
        "gan_info",
        lambda gan_id: {
            "dataset": "mnist",
            "parameters": 1000,
            "metrics": {"epochs_run": 30},
            "classes": list("0123456789"),
            "sha256": "current",
            "history": history,
        },
    )

    def pm(mean, std=0.0):
        return {"mean": mean, "std": std}

    def score(system, value):
        row = {"system": system, "score_mean": value, "score_std": 1.0, "seeds": 3}
        row.update({f"{part}_{stat}": 0.5 for part in ("fidelity", "localisation", "robustness") for stat in ("mean", "std")})
        return row

    audit = [
        {
            "class": c,
            "metric": m,
            "real_mean": 0.2,
            "synthetic_mean": 0.4,
            "p_value": p,
            "real_std": 0,
            "synthetic_std": 0,
            "ks_statistic": 0.5,
        }
        for c, p in (("0", 0.01), ("1", 0.5))
        for m in gan_report.AUDIT_METRICS
    ]
    return {
        "fid": {"cdcgan-mnist": {"fid": pm(100.0, 7.0), "fid_real_vs_real": pm(4.0, 0.5), "class_accuracy": pm(0.776, 0.015)}},
        "diversity": {"cdcgan-mnist": {"generated": pm(0.0634, 0.0012), "real": 0.19123, "per_class": 100}},
        "yardsticks": {
            "mnist": {"none (the real-vs-real baseline)": pm(4.0, 0.5), "box blur 3x3": pm(33.36, 1.0), "box blur 5x5": pm(206.25, 4.0)},
            "shapes": {"none (the real-vs-real baseline)": pm(3.1), "saturation x0.5": pm(235.8, 2.0)},
        },
        "latent": {
            "cdcgan-mnist": {
                "rank_correlation": 0.99,
                "top_k_overlap": 1.0,
                "k": 8,
                "top_dimensions": [3, 1],
                "sefa_top5_share": 0.1,
                "pca_top5_share": 0.09,
            }
        },
        "gans": {"cdcgan-mnist": "current"},
        "deletion": {
            "cdcgan-mnist": {
                "samples": 256,
                "random_draws": 5,
                "runs": [
                    {
                        "seed": seed,
                        "k": k,
                        "top": {"image_change": 0.02 * k, "probability_drop": 0.05 * k, "flipped": 0.1},
                        "random": {"image_change": 0.01 * k, "probability_drop": 0.02 * k + seed / 100, "flipped": 0.05},
                    }
                    for seed in (0, 1)
                    for k in (1, 4)
                ],
            }
        },
        "augmentation": {
            "mnist": {
                "rows": [
                    {"condition": c, "seed": seed, "test_accuracy": a}
                    for c, values in (("real", (0.89, 0.90, 0.91)), ("real + GAN", (0.90, 0.92, 0.94)))
                    for seed, a in enumerate(values)
                ],
                "summary": [
                    {"condition": "real", "accuracy_mean": 0.90, "accuracy_std": 0.01, "seeds": 3},
                    {"condition": "real + GAN", "accuracy_mean": 0.92, "accuracy_std": 0.02, "seeds": 3},
                ],
            }
        },
        "audit": {"mnist": audit},
        "tcav": {
            "vgg-mnist": [
                {
                    "concept": "slanted",
                    "class": "1",
                    "layer": "features.18",
                    "tcav_score": s,
                    "random_mean": 0.5,
                    "p_value": p,
                    "significant": p < 0.05,
                    "cav_accuracy": 0.8,
                }
                for s, p in ((0.9, 0.01), (0.7, 0.2))
            ]
        },
        "score": {"mnist": {"summary": [score("CNN only", 68.5), score("GAN only", 60.0), score("Unified framework", 64.0)]}},
    }


def test_tables_put_the_paper_beside_our_numbers(results):
    text = gan_report.render_gan_markdown(results)
    assert "| `cdcgan-mnist` | mnist | 1,000 | 30 | 100.00 ± 7.00 | 4.00 ± 0.50 | 25.0x | 77.6 ± 1.5 % | 0.063 ± 0.001 / 0.191 |" in text
    assert "over the images of one class, averaged over pixels and classes: 100 samples per class" in text
    # Welch: means 0.92 vs 0.90, sample variances 4e-4 and 1e-4 over 3 seeds -> t = 0.02 / sqrt(5e-4 / 3) = 1.549 with
    # Welch-Satterthwaite df = 2.94, two-sided p = 0.221
    assert "| mnist | 90.00 ± 1.00 % | 92.00 ± 2.00 % | +2.00 | +1.55 | 0.221 | no significant change | 3 |" in text
    assert "| paper (Table 2) | 92.4 % | 91.8 % | -0.6 | - | - | - | - |" in text
    assert "augmentation helped on 0, hurt on 0 and made no significant difference on 1 of 1 datasets" in text
    assert "The paper's Table 2 gives its framework 91.8 % against the standalone CNN's 92.4 %, and its text calls" in text
    assert "| mnist | background_mass | 0.200 | 0.400 | 1 / 2 |" in text
    assert (
        "| `vgg-mnist` | 1 | features.18 | slanted | 0.800 ± 0.141 | 0.500 | 0.01, 0.2 | 1 / 2 | 0.80 |" in text
    )  # 0.9 and 0.7: sample std 0.1 * sqrt(2)
    assert "| mnist | Unified framework | 64.0 ± 1.0 | 79 |" in text


def test_the_ranking_sentence_says_whether_the_paper_holds(results):
    text = gan_report.render_gan_markdown(results)
    assert "ours CNN only > Unified framework > GAN only; the paper's Unified framework > CNN only > GAN only" in text
    assert "**not** reproduced" in text
    for row in results["score"]["mnist"]["summary"]:
        row["score_mean"] = {"CNN only": 61, "GAN only": 54, "Unified framework": 79}[row["system"]]
    assert "The paper's ordering is reproduced." in gan_report.render_gan_markdown(results)


def test_a_conditional_gan_near_chance_is_flagged(results):
    assert "Every conditional GAN produces its requested class well above chance." in gan_report.render_gan_markdown(results)
    results["fid"]["cdcgan-mnist"]["class_accuracy"] = {"mean": 0.12, "std": 0.0}
    assert (
        "have not learnt their classes (class accuracy at most twice chance): `cdcgan-mnist` (12.0 % vs chance 10.0 %)"
        in gan_report.render_gan_markdown(results)
    )


def test_augmentation_verdicts_follow_welch_and_refuse_a_gan_at_chance(results):
    rows = results["augmentation"]["mnist"]["rows"]
    for row in rows:  # a clear gain: real 0.89-0.91, real + GAN 0.97-0.99
        row["test_accuracy"] += 0.08 if row["condition"] == "real + GAN" else 0.0
    verdict = gan_report.augmentation_verdicts(results["augmentation"], results["fid"])["mnist"]
    assert verdict["verdict"] == "helped" and verdict["p"] < 0.05 and verdict["change"] == pytest.approx(10.0)
    for row in rows:
        row["test_accuracy"] -= 0.2 if row["condition"] == "real + GAN" else 0.0
    assert gan_report.augmentation_verdicts(results["augmentation"], results["fid"])["mnist"]["verdict"] == "hurt"
    results["fid"]["cdcgan-mnist"]["class_accuracy"] = {"mean": 0.1, "std": 0.0}  # chance: neither help nor harm counts
    assert gan_report.augmentation_verdicts(results["augmentation"], results["fid"])["mnist"]["verdict"].startswith("cannot count")
    assert "`mnist` cannot count either way" not in gan_report.render_gan_markdown(results)
    assert "mnist cannot count either way, because its conditional GAN does not produce" in gan_report.render_gan_markdown(results)


def test_latent_deletion_table_and_its_sentence(results):
    table, faithful = gan_report.deletion_table(results["deletion"])
    # k = 4 over seeds 0 and 1: top image change 0.08 both seeds; random probability drop 0.08 and 0.09
    assert "| `cdcgan-mnist` | 4 | 0.080 ± 0.000 | 0.040 ± 0.000 | 0.200 ± 0.000 | 0.085 ± 0.007 | 0.100 ± 0.000 | 0.050 ± 0.000 |" in table
    assert faithful == ["`cdcgan-mnist`"]
    assert "in every seed and k for 1 of 1 GANs: the sensitivity ranking identifies" in gan_report.render_gan_markdown(results)
    results["deletion"]["cdcgan-mnist"]["runs"][0]["random"]["image_change"] = 1.0  # random beats top once
    assert gan_report.deletion_table(results["deletion"])[1] == []
    assert "for 0 of 1 GANs; not for `cdcgan-mnist`." in gan_report.render_gan_markdown(results)


def test_the_dynamics_subsection_follows_the_fid_table(results):
    text = gan_report.render_gan_markdown(results, "### Training dynamics (constructed)")
    assert text.index("### DCGANs and FID") < text.index("### Training dynamics (constructed)") < text.index("### Latent explanations")


def test_rows_of_retrained_gans_are_flagged(results):
    assert "were retrained after these runs" not in gan_report.render_gan_markdown(results)
    results["gans"]["cdcgan-mnist"] = "older"
    assert "> `cdcgan-mnist` were retrained after these runs" in gan_report.render_gan_markdown(results)


def test_the_yardsticks_table_and_where_each_gan_falls_on_it(results):
    text = gan_report.render_gan_markdown(results)
    assert "| degradation of the real training images | mnist | shapes |" in text
    assert "| box blur 3x3 | 33.4 ± 1.0 | - |" in text and "| saturation x0.5 | - | 235.8 ± 2.0 |" in text
    assert "Each GAN's FID on that scale: `cdcgan-mnist` (100.0): above *box blur 3x3* (33.4) and below *box blur 5x5* (206.2)." in text


def test_a_gan_beyond_every_yardstick_is_placed_on_one_side_only(results):
    results["fid"]["cdcgan-mnist"]["fid"] = {"mean": 300.0, "std": 1.0}
    sentence = gan_report.yardstick_sentence(results["fid"], results["yardsticks"])
    assert sentence == (
        "Each GAN's FID on that scale: `cdcgan-mnist` (300.0): above *box blur 5x5* (206.2). The shapes GAN's goal, an FID "
        "within 10x of the baseline (31.0), lies above *none (the real-vs-real baseline)* (3.1) and below *saturation x0.5* (235.8)."
    )
    assert "degradation of the real training images" not in gan_report.render_gan_markdown({**results, "yardsticks": {}})


def test_the_goal_verdict_weighs_the_mean_over_seeds_against_10x_the_baseline_and_80_percent(monkeypatch):
    monkeypatch.setattr(gan_report, "gan_info", lambda gan_id: {"dataset": "shapes" if "shapes" in gan_id else "mnist"})
    fid = {
        "cdcgan-mnist": {
            "fid": {"mean": 1.0, "std": 0.0},
            "fid_real_vs_real": {"mean": 1.0, "std": 0.0},
            "class_accuracy": {"mean": 0.9, "std": 0.0},
        },
        "dcgan-shapes": {"fid": {"mean": 1.0, "std": 0.0}, "fid_real_vs_real": {"mean": 1.0, "std": 0.0}},
        "cdcgan-shapes": {
            "fid": {"mean": 29.57, "std": 2.15},
            "fid_real_vs_real": {"mean": 3.1, "std": 0.56},
            "class_accuracy": {"mean": 0.85, "std": 0.002},
        },
    }
    assert gan_report.goal_verdict(fid) == (
        "On the mean over sampling seeds `cdcgan-shapes` meets the shapes GAN's goal: FID 29.57 ± 2.15 against 31.0 (10x the "
        "baseline's mean; met), class accuracy 85.0 ± 0.2 % against 80% (met). The FID's margin, 1.43, is smaller than its std "
        "over the seeds, 2.15: another sampling seed may fall on either side of the goal."
    )
    fid["cdcgan-shapes"]["fid"] = {"mean": 20.0, "std": 1.0}
    fid["cdcgan-shapes"]["class_accuracy"] = {"mean": 0.79, "std": 0.01}
    assert gan_report.goal_verdict(fid) == (
        "On the mean over sampling seeds `cdcgan-shapes` misses the shapes GAN's goal: FID 20.00 ± 1.00 against 31.0 (10x the "
        "baseline's mean; met), class accuracy 79.0 ± 1.0 % against 80% (missed)."
    )
