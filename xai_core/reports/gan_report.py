"""The GAN sections of docs/results.md (unified XAI framework paper, Table 2 and §4), from the cached
results of :func:`xai_core.metrics.gan_experiments.run_gan_experiments`."""

from __future__ import annotations

from scipy.stats import ttest_ind

from ..generative.dcgan import gan_info
from ..metrics.augmentation import AUDIT_METRICS
from ..metrics.explainability_score import PART_WEIGHTS
from ..metrics.fid_yardsticks import BASELINE_YARDSTICK
from ..spread import mean_std
from .charts import PAPER_TABLE_2
from .gan_trials import DATASET as GOAL_DATASET
from .gan_trials import GOAL_CLASS_ACCURACY, GOAL_FID_RATIO, goal_parts


def _pm(summary: dict, digits: int = 2, scale: float = 1.0) -> str:
    return f"{summary['mean'] * scale:.{digits}f} ± {summary['std'] * scale:.{digits}f}"


def fid_table(fid: dict[str, dict], diversity: dict[str, dict]) -> str:
    lines = [
        "| GAN | dataset | parameters | epochs | FID (ours) | real vs real | FID / baseline | class accuracy "
        "| within-class diversity: generated / real |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for gan_id, result in fid.items():
        info = gan_info(gan_id)
        accuracy = _pm(result["class_accuracy"], 1, 100) + " %" if "class_accuracy" in result else "-"
        ratio = result["fid"]["mean"] / max(result["fid_real_vs_real"]["mean"], 1e-12)
        spread = f"{_pm(diversity[gan_id]['generated'], 3)} / {diversity[gan_id]['real']:.3f}" if gan_id in diversity else "-"
        lines.append(
            f"| `{gan_id}` | {info['dataset']} | {info['parameters']:,} | {info['metrics']['epochs_run']} | {_pm(result['fid'])} "
            f"| {_pm(result['fid_real_vs_real'])} | {ratio:.1f}x | {accuracy} | {spread} |"
        )
    return "\n".join(lines)


def yardstick_table(yardsticks: dict[str, dict[str, dict]]) -> str:
    """The FID yardsticks, one row per degradation and one column per dataset ("-" where it does not apply)."""
    datasets = list(yardsticks)
    names = list(dict.fromkeys(name for result in yardsticks.values() for name in result))
    lines = ["| degradation of the real training images | " + " | ".join(datasets) + " |", "| --- |" + " ---: |" * len(datasets)]
    for name in names:
        cells = [_pm(yardsticks[d][name], 1) if name in yardsticks[d] else "-" for d in datasets]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def placement(value: float, scale: dict[str, dict]) -> str:
    """Where ``value`` falls among the yardsticks of ``scale``: "above *A* (a) and below *B* (b)", the nearest each side."""
    below = [(v["mean"], name) for name, v in scale.items() if v["mean"] <= value]
    above = [(v["mean"], name) for name, v in scale.items() if v["mean"] > value]
    sides = []
    if below:
        mean, name = max(below)
        sides.append(f"above *{name}* ({mean:.1f})")
    if above:
        mean, name = min(above)
        sides.append(f"below *{name}* ({mean:.1f})")
    return " and ".join(sides)


def yardstick_sentence(fid: dict[str, dict], yardsticks: dict[str, dict[str, dict]]) -> str:
    """Where each GAN's mean FID, and the shapes GAN's goal, fall among their dataset's yardsticks."""
    placed = [
        f"`{gan_id}` ({result['fid']['mean']:.1f}): {placement(result['fid']['mean'], yardsticks[gan_info(gan_id)['dataset']])}"
        for gan_id, result in fid.items()
        if gan_info(gan_id)["dataset"] in yardsticks
    ]
    if not placed:
        return ""
    sentence = "Each GAN's FID on that scale: " + "; ".join(placed) + "."
    goal_scale = yardsticks.get(GOAL_DATASET)
    if goal_scale:
        goal = GOAL_FID_RATIO * goal_scale[BASELINE_YARDSTICK]["mean"]
        sentence += (
            f" The {GOAL_DATASET} GAN's goal, an FID within {GOAL_FID_RATIO:.0f}x of the baseline ({goal:.1f}), lies "
            f"{placement(goal, goal_scale)}."
        )
    return sentence


def goal_verdict(fid: dict[str, dict]) -> str:
    """Whether each conditional GAN of the goal's dataset meets the goal on the mean over sampling seeds (FID within
    10x of the baseline's mean, class accuracy >= 80 %), and whether the FID's margin exceeds the seeds' std."""
    sentences = []
    for gan_id, result in fid.items():
        if gan_info(gan_id)["dataset"] != GOAL_DATASET or "class_accuracy" not in result:
            continue
        goal = GOAL_FID_RATIO * result["fid_real_vs_real"]["mean"]
        fid_ok, accuracy_ok = goal_parts(result["fid"]["mean"], result["fid_real_vs_real"]["mean"], result["class_accuracy"]["mean"])
        verdict = "meets" if fid_ok and accuracy_ok else "misses"
        sentence = (
            f"On the mean over sampling seeds `{gan_id}` {verdict} the {GOAL_DATASET} GAN's goal: FID {_pm(result['fid'])} "
            f"against {goal:.1f} ({GOAL_FID_RATIO:.0f}x the baseline's mean; {'met' if fid_ok else 'missed'}), class accuracy "
            f"{_pm(result['class_accuracy'], 1, 100)} % against {GOAL_CLASS_ACCURACY:.0%} ({'met' if accuracy_ok else 'missed'})."
        )
        margin = abs(goal - result["fid"]["mean"])
        if margin < result["fid"]["std"]:
            sentence += (
                f" The FID's margin, {margin:.2f}, is smaller than its std over the seeds, {result['fid']['std']:.2f}: "
                "another sampling seed may fall on either side of the goal."
            )
        sentences.append(sentence)
    return " ".join(sentences)


def classes_unlearnt(gan_id: str, result: dict) -> bool:
    """Whether a conditional GAN's samples are classified as the requested class at most twice as often as chance."""
    classes = len(gan_info(gan_id).get("classes", [])) or 1
    return "class_accuracy" in result and result["class_accuracy"]["mean"] <= 2 / classes


def unlearnt_conditionals(fid: dict[str, dict]) -> list[str]:
    """The conditional GANs of :func:`classes_unlearnt`, each with its class accuracy beside chance."""
    return [
        f"`{gan_id}` ({100 * result['class_accuracy']['mean']:.1f} % vs chance {100 / (len(gan_info(gan_id)['classes']) or 1):.1f} %)"
        for gan_id, result in fid.items()
        if classes_unlearnt(gan_id, result)
    ]


def latent_table(latent: dict[str, dict]) -> str:
    lines = [
        "| GAN | Spearman of two sensitivity rankings | top-k overlap | most sensitive dims | SeFa top-5 share | GANSpace top-5 share |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for gan_id, result in latent.items():
        lines.append(
            f"| `{gan_id}` | {result['rank_correlation']:.3f} | {result['top_k_overlap']:.2f} (k={result['k']}) "
            f"| {', '.join(map(str, result['top_dimensions']))} | {result['sefa_top5_share']:.3f} | {result['pca_top5_share']:.3f} |"
        )
    return "\n".join(lines)


DELETION_EFFECTS = {
    "image_change": "mean |pixel change|",
    "probability_drop": "drop in the class's probability",
    "flipped": "predictions flipped",
}


def deletion_table(deletion: dict[str, dict]) -> tuple[str, list[str]]:
    """Top-k vs random-k latent deletion per GAN and k (mean ± std over seeds), and the GANs where deleting the top-k
    moves the image and the prediction more than random dimensions in every seed and k."""
    lines = [
        "| GAN | k | " + " | ".join(f"{label}: top-k | random k" for label in DELETION_EFFECTS.values()) + " |",
        "| --- | ---: |" + " ---: | ---: |" * len(DELETION_EFFECTS),
    ]
    faithful = []
    for gan_id, result in deletion.items():
        runs = result["runs"]
        for k in dict.fromkeys(run["k"] for run in runs):
            chosen = [run for run in runs if run["k"] == k]
            cells = [f"{_pm(mean_std([run[side][name] for run in chosen]), 3)}" for name in DELETION_EFFECTS for side in ("top", "random")]
            lines.append(f"| `{gan_id}` | {k} | " + " | ".join(cells) + " |")
        if all(run["top"][name] > run["random"][name] for run in runs for name in ("image_change", "probability_drop")):
            faithful.append(f"`{gan_id}`")
    return "\n".join(lines), faithful


AUGMENTATION_ALPHA = 0.05


def augmentation_verdicts(augmentation: dict[str, dict], fid: dict[str, dict]) -> dict[str, dict]:
    """Per dataset: the change in test accuracy (points), Welch's t and two-sided p over the seeds of each condition,
    and a verdict: "helped" / "hurt" (p < AUGMENTATION_ALPHA), "no significant change", or "cannot count" when the
    conditional GAN does not produce its classes (class accuracy at most twice chance)."""
    verdicts = {}
    for dataset, result in augmentation.items():
        by_condition = {c: [row["test_accuracy"] for row in result["rows"] if row["condition"] == c] for c in ("real", "real + GAN")}
        real, mixed = by_condition["real"], by_condition["real + GAN"]
        change = 100 * (sum(mixed) / len(mixed) - sum(real) / len(real))
        test = ttest_ind(mixed, real, equal_var=False)
        gan_id = f"cdcgan-{dataset}"
        if gan_id in fid and classes_unlearnt(gan_id, fid[gan_id]):
            verdict = "cannot count: its GAN does not produce the classes"
        elif test.pvalue < AUGMENTATION_ALPHA:
            verdict = "helped" if change > 0 else "hurt"
        else:
            verdict = "no significant change"
        verdicts[dataset] = {"change": change, "t": float(test.statistic), "p": float(test.pvalue), "verdict": verdict}
    return verdicts


def augmentation_table(augmentation: dict[str, dict], fid: dict[str, dict]) -> tuple[str, dict[str, dict]]:
    verdicts = augmentation_verdicts(augmentation, fid)
    lines = [
        "| dataset | real only | real + GAN | change (points) | Welch's t | p | verdict | seeds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for dataset, result in augmentation.items():
        by_condition = {row["condition"]: row for row in result["summary"]}
        real, mixed, verdict = by_condition["real"], by_condition["real + GAN"], verdicts[dataset]
        lines.append(
            f"| {dataset} | {100 * real['accuracy_mean']:.2f} ± {100 * real['accuracy_std']:.2f} % "
            f"| {100 * mixed['accuracy_mean']:.2f} ± {100 * mixed['accuracy_std']:.2f} % | {verdict['change']:+.2f} "
            f"| {verdict['t']:+.2f} | {verdict['p']:.3f} | {verdict['verdict']} | {real['seeds']} |"
        )
    paper = PAPER_TABLE_2["Unified framework"]["accuracy"] - PAPER_TABLE_2["CNN only"]["accuracy"]
    lines.append(
        f"| paper (Table 2) | {PAPER_TABLE_2['CNN only']['accuracy']} % | {PAPER_TABLE_2['Unified framework']['accuracy']} % "
        f"| {paper:+.1f} | - | - | - | - |"
    )
    return "\n".join(lines), verdicts


def augmentation_sentence(verdicts: dict[str, dict]) -> str:
    counts = {
        kind: [d for d, v in verdicts.items() if v["verdict"].startswith(kind)] for kind in ("helped", "hurt", "no significant", "cannot")
    }
    sentence = (
        f"The paper's Table 2 gives its framework {PAPER_TABLE_2['Unified framework']['accuracy']} % against the standalone "
        f"CNN's {PAPER_TABLE_2['CNN only']['accuracy']} %, and its text calls that accuracy \"similar to the standalone CNN but "
        f"has the advantage of synthetic data augmentation\"; it states no number of runs and no test. Here, by Welch's t-test at "
        f"alpha = {AUGMENTATION_ALPHA} over the seeds of each condition, augmentation helped on {len(counts['helped'])}, hurt on "
        f"{len(counts['hurt'])} and made no significant difference on {len(counts['no significant'])} of {len(verdicts)} datasets"
    )
    if counts["cannot"]:
        sentence += (
            f"; {', '.join(counts['cannot'])} cannot count either way, because its conditional GAN does not produce the "
            "requested classes (its samples are noise labelled as classes)"
        )
    return sentence + ". With 3 seeds per condition the test detects only large changes."


def audit_table(audit: dict[str, list[dict]]) -> str:
    lines = [
        "| dataset | metric | real (mean over classes) | synthetic | classes differing (KS p < 0.05) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for dataset, rows in audit.items():
        for metric in AUDIT_METRICS:
            chosen = [row for row in rows if row["metric"] == metric]
            real = sum(row["real_mean"] for row in chosen) / len(chosen)
            synthetic = sum(row["synthetic_mean"] for row in chosen) / len(chosen)
            differing = sum(row["p_value"] < 0.05 for row in chosen)
            lines.append(f"| {dataset} | {metric} | {real:.3f} | {synthetic:.3f} | {differing} / {len(chosen)} |")
    return "\n".join(lines)


def score_table(score: dict[str, dict]) -> tuple[str, dict[str, list[float]]]:
    parts = " | ".join(PART_WEIGHTS)
    lines = [f"| dataset | system | score (ours) | paper | {parts} |", "| --- | --- | ---: | ---: |" + " ---: |" * len(PART_WEIGHTS)]
    means: dict[str, list[float]] = {}
    for dataset, result in score.items():
        for row in result["summary"]:
            means.setdefault(row["system"], []).append(row["score_mean"])
            cells = " | ".join(f"{row[f'{p}_mean']:.3f} ± {row[f'{p}_std']:.3f}" for p in PART_WEIGHTS)
            lines.append(
                f"| {dataset} | {row['system']} | {row['score_mean']:.1f} ± {row['score_std']:.1f} "
                f"| {PAPER_TABLE_2[row['system']]['score']} | {cells} |"
            )
    return "\n".join(lines), means


def tcav_table(tcav: dict[str, list[dict]]) -> str:
    lines = [
        "| model | class | layer | concept | TCAV score | random mean | p (per seed) | significant (seeds) | CAV accuracy |",
        "| --- | --- | --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for model_id, rows in tcav.items():
        for concept in dict.fromkeys(row["concept"] for row in rows):
            chosen = [row for row in rows if row["concept"] == concept]
            score = mean_std([row["tcav_score"] for row in chosen])
            random_mean = sum(row["random_mean"] for row in chosen) / len(chosen)
            accuracy = sum(row["cav_accuracy"] for row in chosen) / len(chosen)
            p_values = ", ".join(f"{row['p_value']:.2g}" for row in chosen)
            lines.append(
                f"| `{model_id}` | {chosen[0]['class']} | {chosen[0]['layer']} | {concept} | {score['mean']:.3f} ± {score['std']:.3f} "
                f"| {random_mean:.3f} | {p_values} "
                f"| {sum(row['significant'] for row in chosen)} / {len(chosen)} | {accuracy:.2f} |"
            )
    return "\n".join(lines)


def render_gan_markdown(results: dict, after_fid: str = "") -> str:
    """Markdown for the FID, latent, augmentation, bias-audit, TCAV and explainability-score results; ``after_fid`` holds
    the subsections rendered from other summaries (:mod:`~xai_core.reports.gan_trials`, :mod:`~xai_core.reports.gan_dynamics`).
    Long: a document template, read top to bottom like the section it writes."""
    changed = [f"`{g}`" for g, sha in results["gans"].items() if gan_info(g)["sha256"] != sha]
    stale = (
        f"\n\n> {', '.join(changed)} were retrained after these runs: their rows describe the earlier weights; "
        "`report-results --gan-only --rerun` recomputes them."
        if changed
        else ""
    )
    augmentation, verdicts = augmentation_table(results["augmentation"], results["fid"])
    deletion, faithful = deletion_table(results["deletion"])
    first = next(iter(results["deletion"].values()))
    deletion_samples, deletion_draws = first["samples"], first["random_draws"]
    seeds = list(dict.fromkeys(run["seed"] for run in first["runs"]))
    others = [f"`{g}`" for g in results["deletion"] if f"`{g}`" not in faithful]
    deletion_sentence = (
        f"Deleting the top-k dimensions changes the image and lowers the class probability more than deleting k random "
        f"ones in every seed and k for {len(faithful)} of {len(results['deletion'])} GANs"
        + (f"; not for {', '.join(others)}." if others else ": the sensitivity ranking identifies latent variables that matter.")
    )
    scores, means = score_table(results["score"])
    yardsticks = (
        "\nFor scale, the same judge's FID between the real test images and the real training images degraded in known "
        "ways (the real-vs-real baseline's subsets, so the first row is that baseline; `xai_core.metrics.fid_yardsticks`; "
        "colour changes only on colour datasets; the object rows, which change the object or the background alone through "
        "the exact object masks, only where objects lie on cluttered colour backgrounds):\n\n"
        f"{yardstick_table(results['yardsticks'])}\n\n{yardstick_sentence(results['fid'], results['yardsticks'])}\n"
        if results.get("yardsticks")
        else ""
    )
    diversity_count = next(iter(results.get("diversity", {}).values()), {}).get("per_class", "-")
    order = sorted(means, key=lambda system: -sum(means[system]) / len(means[system]))
    paper_order = sorted(PAPER_TABLE_2, key=lambda system: -PAPER_TABLE_2[system]["score"])
    return f"""
## Explainable GAN (unified XAI framework paper, Table 2 and §4)

Rendered from `docs/data/gan_experiments.json`, which `python -m xai_core report-results --gan-only` records
(reusing runs in `runs/gan-results`, keyed by the configuration and the checkpoints' sha256; `--rerun` recomputes).
Mean ± sample std over seeds 0, 1, 2.{stale}

### DCGANs and FID

FID is computed in float64 on the penultimate features of the domain CNN (`vgg-<dataset>`), because
Inception weights cannot be downloaded here: the numbers are on a different scale from the paper's
Inception FID (GAN 28.7, framework 29.3) and only comparable within a row. The yardstick beside every
figure is the **real-vs-real baseline**: training images against the same test images, with the same
number of samples (FID is biased by n). Class accuracy is the domain CNN's accuracy on samples of the
conditioned class (chance is 1 / classes). Within-class diversity (conditional GANs) is the per-pixel standard
deviation over the images of one class, averaged over pixels and classes: {diversity_count} samples per class,
beside the real test images of each class; a generator that gives one image per class whatever the latent scores 0.

{fid_table(results["fid"], results.get("diversity", {}))}

{goal_verdict(results["fid"])}
{yardsticks}
{"Conditional GANs that have not learnt their classes (class accuracy at most twice chance): " + ", ".join(unlearnt_conditionals(results["fid"])) + "; their rows below describe a failed generator." if unlearnt_conditionals(results["fid"]) else "Every conditional GAN produces its requested class well above chance."}

{after_fid}

### Latent explanations

Exact per-dimension sensitivity E_z ||dG(z)/dz_i|| (forward-mode `torch.func.jvp`) on two independent
samples of 256 latents (conditional GANs: class 0); its stability is the Spearman correlation of the two
rankings. SeFa and GANSpace shares: variance captured by the five leading directions.

{latent_table(results["latent"])}

### Explanation fidelity: deleting influential latent variables (paper §4)

The paper measures explanation fidelity by "changes in model output to perturbations or deletions of highly
attributed regions or influential latent variables". Here: set the k most sensitive latent dimensions (ranked on
an independent sample of {deletion_samples} latents) to 0, the prior's mean, in {deletion_samples} fresh latents, and
compare with k random dimensions (mean of {deletion_draws} draws). The judge is the domain CNN (`vgg-<dataset>`):
the drop in the probability of the class it gave the original image, and the share of its predictions that flip.
Mean ± std over seeds {", ".join(map(str, seeds))}.

{deletion}

{deletion_sentence}

### Synthetic augmentation (paper Table 2: accuracy 92.4 -> 91.8)

The same CNN recipe (VGG-style, 10 epochs) trained on 1,000 real training images, and on those plus
1,000 balanced samples of the conditional GAN; accuracy on the real test split.

{augmentation}

{augmentation_sentence(verdicts)}

### Bias audit: Grad-CAM on real vs synthetic images of the same class

50 real test images and 50 GAN images per class, `vgg-<dataset>` explained by Grad-CAM for the class.
Metrics: {"; ".join(f"{name} = {text}" for name, text in AUDIT_METRICS.items())}.

{audit_table(results["audit"])}

### TCAV (paper §3.2: concept-level explanations; no figures to compare)

Concept activation vectors at the last conv layer (captum), 50 images per concept, random and class
set, 10 random concepts; a concept is significant when its scores over the random sets differ from
the random-vs-random scores (two-sided t-test, p < 0.05). Seeds 0, 1, 2 draw different sets.

{tcav_table(results["tcav"])}

### Explainability score (paper Table 2: CNN 61, GAN 54, unified 79)

Defined in [explainability_score.md](explainability_score.md): 100 x the weighted mean of fidelity (0.4),
localisation (0.3) and robustness (0.3); human preference joins once survey data exists. Computed on the
symbol datasets, whose generated images have a foreground definition.

{scores}

Ranking of the systems by mean score: ours {" > ".join(order)}; the paper's {" > ".join(paper_order)}.
{"The paper's ordering is reproduced." if order == paper_order else "The paper's ordering is **not** reproduced: with any weighted mean of parts, the unified system (which averages its components' parts) cannot beat both of its components unless the unified layer's aggregated map improves a part; the paper's 79 needs more than the explanations themselves measure."}
"""
