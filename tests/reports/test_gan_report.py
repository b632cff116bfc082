"""The GAN sections of docs/results.md from constructed results: tables, the paper's figures beside ours,
and the sentences that check the paper's claims."""

import pytest

from xai_core.reports import gan_report


@pytest.fixture
def results(monkeypatch):
    monkeypatch.setattr(
        gan_report,
        "gan_info",
        lambda gan_id: {"dataset": "mnist", "parameters": 1000, "metrics": {"epochs_run": 30}, "classes": list("0123456789")},
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
        "augmentation": {
            "mnist": {
                "summary": [
                    {"condition": "real", "accuracy_mean": 0.90, "accuracy_std": 0.01, "seeds": 3},
                    {"condition": "real + GAN", "accuracy_mean": 0.92, "accuracy_std": 0.02, "seeds": 3},
                ]
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
    assert "| `cdcgan-mnist` | mnist | 1,000 | 30 | 100.00 ± 7.00 | 4.00 ± 0.50 | 25.0x | 77.6 ± 1.5 % |" in text
    assert "| mnist | 90.00 ± 1.00 % | 92.00 ± 2.00 % | +2.00 | 3 |" in text
    assert "| paper (Table 2) | 92.4 % | 91.8 % | -0.6 | - |" in text
    assert "augmentation helped on 1 of 1 datasets" in text
    assert "| mnist | background_mass | 0.200 | 0.400 | 1 / 2 |" in text
    assert "| `vgg-mnist` | 1 | features.18 | slanted | 0.800 ± 0.100 | 0.500 | 0.01, 0.2 | 1 / 2 | 0.80 |" in text
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
