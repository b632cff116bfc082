"""What it took to make the shapes GANs work: the ``train-gan`` runs tried on shapes, one row per run, against the goal
a GAN must meet to serve the latent-slider view (class accuracy by the domain CNN >= 80 %, FID within 10x of the
real-vs-real baseline).

``report-results --gan-trials DIR ...`` reads the ``gans`` entries of each directory's manifest (a ``train-gan --out``
directory, or ``checkpoints`` for the shipped GANs), measures the within-class diversity of the conditional runs whose
weights the directory holds, and commits them as ``docs/data/gan_trials.json``; the report renders only from that file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..generative.dcgan import MANIFEST_SECTION, load_gan_in
from ..metrics.gan_experiments import DIVERSITY_PER_CLASS, class_swap_fids, generated_class_diversity, real_class_diversity
from ..models.checkpoints import REPOSITORY_ROOT, read_manifest
from .summaries import DATA_DIR, read_json_summary, write_json_summary

SUMMARY_NAME = "gan_trials"
DATASET = "shapes"
GOAL_CLASS_ACCURACY = 0.80
GOAL_FID_RATIO = 10.0
HEADING = "### The shapes GANs: what was tried"


def trial_measures(directory: Path, entry: dict) -> dict:
    """What is measured again of a conditional run whose weights ``directory`` holds (sampling seed 0): its
    within-class diversity and its FID with each class's samples swapped for real ones
    (:func:`~xai_core.metrics.gan_experiments.class_swap_fids`, keyed by class name); None for other runs."""
    if not entry["training"]["conditional"] or not (directory / entry.get("file", "")).is_file():
        return {"class_diversity": None, "fid_class_swapped": None}
    generator = load_gan_in([directory], entry["id"])
    swapped = class_swap_fids(generator, entry["dataset"], entry["training"]["feature_model"], seed=0)
    return {
        "class_diversity": generated_class_diversity(generator, seed=0),
        "fid_class_swapped": {name: round(fid, 3) for name, fid in zip(entry["classes"], swapped, strict=True)},
    }


def trial_row(entry: dict, source: str, measures: dict | None = None) -> dict:
    """One run of a manifest entry: its recipe, length, single-sample FID (seed 0), class accuracy, within-class
    diversity and class-swapped FIDs (None when not measured), and command."""
    training, metrics = entry["training"], entry["metrics"]
    measures = measures or {"class_diversity": None, "fid_class_swapped": None}
    return {
        "id": entry["id"],
        "source": source,
        "recipe": training.get("recipe", "dcgan"),
        "conditional": training["conditional"],
        "epochs": metrics["epochs_run"],
        "steps": metrics["epochs_run"] * (metrics["n_train"] // training["batch_size"]),
        "parameters": entry["parameters"],
        "fid": metrics["fid"],
        "fid_real_vs_real": metrics["fid_real_vs_real"],
        "class_accuracy": metrics.get("class_accuracy"),
        "class_diversity": measures["class_diversity"],
        "fid_class_swapped": measures["fid_class_swapped"],
        "command": entry["command"],
        "sha256": entry["sha256"],
    }


def retrain_command(row: dict) -> str:
    """The command that retrains ``row``'s run into its own folder. A run recorded through ``reproduce-checkpoints``
    (``--out checkpoints``) but read from another folder gets that folder as ``--out`` and ``--run-dir`` and an id of
    its own (a shipped id cannot be written outside ``checkpoints``), so that retraining it leaves the shipped GANs be."""
    command = row["command"]
    if row["source"] == "checkpoints" or not command.endswith(" --out checkpoints"):
        return command
    own_id = "" if " --id " in command else f" --id {row['id']}-{Path(row['source']).name}"
    return command.removesuffix(" --out checkpoints") + f"{own_id} --out {row['source']} --run-dir {row['source']}/run"


def record_gan_trials(directories: Sequence[Path], data_dir: Path = DATA_DIR, dataset: str = DATASET) -> Path:
    """Record every ``dataset`` GAN in the manifests of ``directories`` in the summary. A directory recorded earlier
    gets its new rows where its old ones stood, so that the table keeps the order the runs were tried in; a new
    directory's rows come last, in the order given. The rows of every other directory are kept (``runs/`` is not
    committed, so a trial's row outlives its folder)."""
    fresh: dict[str, list[dict]] = {}
    for directory in directories:
        directory = Path(directory).resolve()
        source = str(directory.relative_to(REPOSITORY_ROOT)) if directory.is_relative_to(REPOSITORY_ROOT) else str(directory)
        fresh[source] = [
            trial_row(entry, source, trial_measures(directory, entry))
            for entry in read_manifest(directory, MANIFEST_SECTION)
            if entry["dataset"] == dataset
        ]
    if not any(fresh.values()):
        raise ValueError(f"no {dataset} GAN in the manifests of {', '.join(map(str, directories))}")
    earlier = read_json_summary(SUMMARY_NAME, data_dir) or {"runs": []}
    runs: list[dict] = []
    placed: set[str] = set()
    for row in earlier["runs"]:
        if row["source"] not in fresh:
            runs.append(row)
        elif row["source"] not in placed:
            runs += fresh[row["source"]]
            placed.add(row["source"])
    runs += [row for source, rows in fresh.items() if source not in placed for row in rows]
    summary = {"dataset": dataset, "class_diversity_real": real_class_diversity(dataset), "runs": runs}
    return write_json_summary(SUMMARY_NAME, summary, data_dir)


def goal_parts(fid: float, baseline: float, class_accuracy: float | None) -> tuple[bool, bool | None]:
    """The goal's two parts: (FID <= 10x the real-vs-real baseline, class accuracy >= 80 %; None when unconditional)."""
    return fid <= GOAL_FID_RATIO * baseline, None if class_accuracy is None else class_accuracy >= GOAL_CLASS_ACCURACY


def meets_goal(row: dict) -> bool:
    """Whether a run meets the goal: FID <= 10x its baseline and, when conditional, class accuracy >= 80 %."""
    fid_ok, accuracy_ok = goal_parts(row["fid"], row["fid_real_vs_real"], row["class_accuracy"])
    return fid_ok and accuracy_ok is not False


def goal_sentence(row: dict) -> str:
    """Which parts of the goal a run meets, in words."""
    fid_ok, accuracy_ok = goal_parts(row["fid"], row["fid_real_vs_real"], row["class_accuracy"])
    ratio = row["fid"] / row["fid_real_vs_real"]
    fid = f"FID {ratio:.1f}x the baseline ({'meets' if fid_ok else 'misses'} the {GOAL_FID_RATIO:.0f}x goal)"
    if accuracy_ok is None:
        return f"`{row['id']}` (unconditional): {fid}."
    met = "meets" if accuracy_ok else "misses"
    return f"`{row['id']}`: class accuracy {row['class_accuracy']:.1%} ({met} the {GOAL_CLASS_ACCURACY:.0%} goal), {fid}."


def diversity_sentence(runs: list[dict], real: float) -> str:
    """The shipped conditional run's within-class diversity as a share of the real images', beside the measured trial
    closest to the real images' ("" when neither is measured)."""
    measured = [row for row in runs if row.get("class_diversity") is not None]
    shipped = [row for row in measured if row["source"] == "checkpoints"]
    trials = [row for row in measured if row["source"] != "checkpoints"]
    if not shipped or not trials:
        return ""
    closest = min(trials, key=lambda row: abs(row["class_diversity"] - real))
    return (
        f"The shipped `{shipped[0]['id']}` varies within a class {shipped[0]['class_diversity'] / real:.0%} as much as the real "
        f"images; the trial closest to the real images, `{closest['recipe']}` (`{closest['source']}`), "
        f"{closest['class_diversity'] / real:.0%}, at FID {closest['fid']:.1f} and class accuracy {closest['class_accuracy']:.1%}."
    )


def class_swap_table(runs: list[dict]) -> str:
    """The FID of each run whose class-swapped FIDs were measured, with each class's samples swapped for real ones, and
    the class whose swap lowers it most ("" when none was measured)."""
    measured = [row for row in runs if row.get("fid_class_swapped")]
    if not measured:
        return ""
    names = list(measured[0]["fid_class_swapped"])
    lines = [
        f"| GAN | from | FID | {' | '.join(names)} | costliest class |",
        f"| --- | --- | ---: | {' | '.join('---:' for _ in names)} | --- |",
    ]
    for row in measured:
        swapped = row["fid_class_swapped"]
        costliest = min(swapped, key=swapped.get)
        cells = " | ".join(f"{swapped[name]:.1f}" for name in names)
        fall = f"{row['fid']:.1f} -> {swapped[costliest]:.1f}"
        lines.append(f"| `{row['id']}` | `{row['source']}` | {row['fid']:.1f} | {cells} | {costliest} ({fall}) |")
    return f"""Which class costs each run its FID: the FID with every sample of one class swapped for a seeded draw of real
training images of that class (the same samples, reference images and judge as the FID column above), measured for
the conditional runs whose weights their folder still held when recorded. A swap that brings the FID near the
baseline marks the class the run draws worst.

{chr(10).join(lines)}
"""


def recipes_paragraph(dataset: str) -> str:
    """What each recipe of the trials table changes, and why: the prose between the goal and the table. Long: one
    paragraph of prose, a clause per recipe in the order they were tried."""
    return f"""Recipes: `dcgan` is Radford et al.'s; `sngan` adds the
upsampling generator with class-conditional BatchNorm, the hinge loss, an EMA generator, DiffAugment and an AC-GAN
head; `projected` is `sngan` whose discriminator reads the frozen `resnet-{dataset}` (Projected GANs,
Sauer et al., NeurIPS 2021); `projected-diverse` adds a head on the pixels to that discriminator and the mode-seeking
term of MSGAN (Mao et al., CVPR 2019) to the generator's loss; `projected-deviation` adds the pixel head and a head on the
minibatch standard deviation of the discriminator's features over groups of four images (Karras et al., ICLR 2018), which
a generator that ignores its latent cannot match; `projected-layered` is `projected-deviation` with a layered generator
(after LR-GAN, Yang et al., ICLR 2017) that paints the object in one colour through a sharp mask over a smooth background,
as the object yardsticks under the FID table suggest: the judge forgives a flat background far more than a blurred
object; `projected-placed` is `projected-deviation` with LR-GAN's spatial transformer instead of a mask drawn by
convolutions: a learnt outline per class (a template), which the latent turns, scales and moves and fills with one
colour, over the same smooth background; `projected-placed-coarse` draws that template at half the side, framed by an
empty border, so that any marks it paints inside the object are coarser and, unlike the full-side template through the
border padding of the sampling, it cannot paint lines across the uncovered background; `projected-placed-striped`
holds that template's outer two pixels empty, against the dotted squares the coarse trial drew around its objects, and
paints the background as one colour modulated by a plane wave (stripes of a learnt angle, phase, frequency and depth),
where the coarse trial's background, drawn by convolutions, came out in blotches of many colours; it cannot draw the
real backgrounds' distractor lines and dots; `projected-placed-radial` replaces that template by a solid star-shaped
outline per class (a learnt radius at each of 64 angles and a hole of a learnt share of it), which can draw neither the
translucent squares around the striped trial's objects nor marks inside them, and reads the object's and the
background's colours as HSV, where the striped trial's came out grey; `projected-placed-cluttered` adds to its
background eight strokes (round-capped segments of a learnt colour, width and presence: lines, and dots as short
ones), as the real backgrounds carry distractor lines and dots, which the radial generator cannot draw (by its sample
grids, its outlines grew thin spikes instead); `projected-placed-prior` samples the cluttered generator's pose instead
of generating it, as GIRAFFE samples its objects' poses (Niemeyer & Geiger, CVPR 2021): the first four latent
dimensions, made uniform by the normal CDF, give any angle, a scale of x0.8 to x1.28 and a centre uniform over the
positions where the outline stays a pixel inside the image, as in `{dataset}`, where every learnt pose of the placed
trials pushed its objects to the border (their sample grids); `projected-placed-smooth` draws that generator's
outlines as Fourier series of 15 harmonics (no feature narrower than 12 degrees) and samples the object's colour from
`{dataset}`'s colour prior (any hue, saturation 0.5 to 1, value 0.75 to 1, from latent dimensions 4 to 6), where the
learnt colours came out darker or greyer than any real object's; `projected-placed-open` starts every outline of
that generator as a ring, which the classes without a hole close, where the smooth trial's ring class never opened
the hole it started without and drew a many-armed star instead (its sample grids); `projected-placed-polygon` draws the
smooth generator's outlines as polygons of 12 vertices with straight edges (each vertex's angle gap and radius learnt),
where the smooth trial's outlines came out ragged: a spiky triangle, diamond and cross (its sample grids);
`projected-placed-round` gives the smooth generator a round hole, a learnt share of the outline's geometric-mean
radius that starts open at 0.1 and learns four times as fast as the radii, where the smooth trial's ring class drew a
many-armed star whose hole, a shrunk copy of that star, vanished between the arms (its sample grids), and bounds every
outline's farthest radius to 2.5 times its nearest (`{dataset}`'s span at most 2.25), against those arms;
`projected-placed-polygon-round` gives the polygon generator that round, fast hole, without the bound, where the
polygon trial's classes came out clean but for the ring, a propeller (its sample grids);
`projected-placed-polygon-penalised` adds to that recipe a price on open holes (the generator's loss pays the mean
share of the radius its images' holes take, at weight 1), where the polygon-round trial's triangle class opened a hole
that cut it in two (its sample grids); `projected-placed-polygon-closed` starts that recipe's holes closed, on the edge
of opening, where the polygon trial's triangle and cross, whose holes started so, came out clean, and the penalised
trial's triangle kept the hole it started with (its sample grids); `projected-placed-polygon-ensemble` is the
penalised recipe whose discriminator reads `mobilenet-{dataset}` beside `resnet-{dataset}`, each through its own heads
(an ensemble of frozen CNNs, as in Vision-aided GAN: Kumari, Zhang, Shechtman & Zhu, CVPR 2022), so that a generated
image must pass the features of both; `projected-placed-round-closed` gives the round generator's smooth outlines the
closed trial's closed, penalised round hole, where the class swaps below put most of the smooth trial's FID on
its ring, a many-armed star, and most of the closed run's on its cross, an irregular star, while the closed run's ring
came out clean (their sample grids); `projected-placed-polygon-heavy` is the closed recipe with holes priced at weight
4, where the closed trial's cross drew an irregular star and the polygon trial's cross came out clean while its ring
never opened its slow hole (their sample grids); `projected-placed-polygon-heavy-open` starts that recipe's holes open
at 0.1, as the polygon-round generator's, where the heavy trial's ring class never opened its hole and drew a
three-bladed propeller (its sample grids), the class the swaps below find behind most of its FID. The recipes from
`projected-placed-prior` on write
part of `{dataset}`'s own recipe into the generator (the pose; from `projected-placed-smooth` on, the object's colour too):
what is left to learn is each class's outline and hole, the background and its strokes, and in
`projected-placed-prior` the object's colour.
The judge,
`vgg-{dataset}`, never trains a generator."""


def gan_trials_section(data_dir: Path = DATA_DIR) -> str:
    """The trials subsection of docs/results.md from its committed summary."""
    summary = read_json_summary(SUMMARY_NAME, data_dir)
    if summary is None:
        return f"{HEADING}\n\nNot recorded yet: `python -m xai_core report-results --gan-trials DIR ...`.\n"
    lines = [
        "| GAN | recipe | from | epochs | steps | parameters | FID | FID / baseline | class accuracy | within-class diversity | goal |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in summary["runs"]:
        accuracy = "-" if row["class_accuracy"] is None else f"{100 * row['class_accuracy']:.1f} %"
        diversity = "-" if row.get("class_diversity") is None else f"{row['class_diversity']:.3f}"
        lines.append(
            f"| `{row['id']}` | {row['recipe']} | `{row['source']}` | {row['epochs']} | {row['steps']:,} | {row['parameters']:,} "
            f"| {row['fid']:.1f} | {row['fid'] / row['fid_real_vs_real']:.1f}x | {accuracy} | {diversity} "
            f"| {'met' if meets_goal(row) else 'missed'} |"
        )
    commands = "\n".join(f"- `{row['id']}` ({row['recipe']}): `{retrain_command(row)}`" for row in summary["runs"])
    verdicts = " ".join(goal_sentence(row) for row in summary["runs"] if row["source"] == "checkpoints")
    return f"""{HEADING}

The goal: a conditional GAN whose samples the domain CNN (`vgg-{summary["dataset"]}`) recognises as the requested class
at least {GOAL_CLASS_ACCURACY:.0%} of the time, with an FID within {GOAL_FID_RATIO:.0f}x of the real-vs-real baseline.
Single runs (training seed 0), scored once by `train-gan` (sampling seed 0; the FID table above averages sampling seeds
of the shipped GANs), from `docs/data/gan_trials.json`. {recipes_paragraph(summary["dataset"])}

{chr(10).join(lines)}

`from` is the directory whose manifest the row was read from: `checkpoints` rows are the shipped GANs; the others
stay in the `runs/` folder of whoever recorded them, and their commands below retrain them into that folder (a run
recorded through `reproduce-checkpoints` gets an id of its own there, as a shipped id is only written to `checkpoints`).
Within-class diversity
(as in the FID table above; {DIVERSITY_PER_CLASS} samples per class, sampling seed 0) is measured for the conditional runs
whose weights their folder still held ("-" otherwise); the real test images score {summary["class_diversity_real"]:.3f}.
{diversity_sentence(summary["runs"], summary["class_diversity_real"])}
{verdicts}

{class_swap_table(summary["runs"])}
Commands:
{commands}
"""
