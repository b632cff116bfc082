"""The unified framework's "generator-discriminator dynamics" over training seeds: each shipped GAN's per-epoch D(real),
D(fake), loss G and loss D (means over an epoch's batches) for training seeds 0, 1 and 2.

Seed 0 is the shipped GAN (its manifest history); seeds 1 and 2 retrain its shipped configuration with that seed into
``runs/gan-dynamics`` (resumable, not scored). The summary is committed as ``docs/data/gan_dynamics.json``
(``report-results --gan-dynamics [GAN ...]``, which adds or replaces the named GANs' entries).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from ..generative.dcgan import gan_info
from ..generative.training import shipped_gan_configs, train_gan
from ..models.checkpoints import REPOSITORY_ROOT
from ..spread import mean_std
from .summaries import DATA_DIR, read_json_summary, write_json_summary

RUN_ROOT = REPOSITORY_ROOT / "runs" / "gan-dynamics"
SUMMARY_NAME = "gan_dynamics"
SEEDS = (0, 1, 2)
VALUES = ("d_real", "d_fake", "loss_g", "loss_d")
HEADING = '### Training dynamics (the framework\'s "generator-discriminator dynamics")'


def seed_histories(
    gan_id: str, seeds: Sequence[int] = SEEDS, root: Path = RUN_ROOT, on_progress: Callable[[float, str], None] | None = None
) -> dict[int, list[dict]]:
    """{training seed: per-epoch history} of a shipped GAN; seeds other than the shipped one are trained (or resumed)."""
    shipped = {config.gan_id: config for config in shipped_gan_configs()}
    if gan_id not in shipped:
        raise ValueError(f"{gan_id!r} is not a shipped GAN; shipped: {', '.join(shipped)}")
    config = shipped[gan_id]
    histories = {}
    for i, seed in enumerate(seeds):
        if seed == config.seed:
            histories[seed] = gan_info(gan_id)["history"]
        else:
            run = f"{gan_id}-seed{seed}"
            entry = train_gan(
                dataclasses.replace(config, seed=seed), out_dir=root / run, run_dir=root / run, progress=on_progress is None, score=False
            )
            histories[seed] = entry["history"]
        if on_progress is not None:
            on_progress((i + 1) / len(seeds), f"{gan_id}, seed {seed}")
    return histories


def dynamics_over_seeds(histories: dict[int, list[dict]]) -> dict:
    """Per epoch, the mean and sample std over seeds of each of ``VALUES``:
    {"seeds": [...], "epochs": [{"epoch": 1, "d_real": {"mean", "std"}, ...}, ...]}."""
    lengths = {len(history) for history in histories.values()}
    if len(lengths) != 1:
        raise ValueError(f"the seeds trained different numbers of epochs: {sorted(lengths)}")
    epochs = [
        {"epoch": records[0]["epoch"], **{value: mean_std([record[value] for record in records]) for value in VALUES}}
        for records in zip(*histories.values(), strict=True)
    ]
    return {"seeds": sorted(histories), "epochs": epochs}


def record_gan_dynamics(
    gan_ids: Sequence[str] = (), on_progress: Callable[[float, str], None] | None = None, data_dir: Path = DATA_DIR, root: Path = RUN_ROOT
) -> Path:
    """Train what is missing and write the summary for ``gan_ids`` (default: every shipped GAN), keeping the entries
    of other GANs already recorded. Each entry carries the sha256 of the seed-0 weights it describes."""
    gan_ids = list(gan_ids) or [config.gan_id for config in shipped_gan_configs()]
    summary = read_json_summary(SUMMARY_NAME, data_dir) or {}
    for i, gan_id in enumerate(gan_ids):
        report = on_progress and (lambda f, m, i=i: on_progress((i + f) / len(gan_ids), m))
        summary[gan_id] = {
            "sha256": gan_info(gan_id)["sha256"],
            **dynamics_over_seeds(seed_histories(gan_id, root=root, on_progress=report)),
        }
    ordered = {config.gan_id: summary[config.gan_id] for config in shipped_gan_configs() if config.gan_id in summary}
    return write_json_summary(SUMMARY_NAME, ordered, data_dir)


def _listed(gan_ids: list[str]) -> str:
    return ", ".join(f"`{gan_id}`" for gan_id in gan_ids)


def _at(record: dict, value: str, seeds: int) -> str:
    """The mean of ``value`` at ``record``'s epoch, ± its sample std when more than one seed gives one."""
    mean = f"{record[value]['mean']:.2f}"
    return f"{mean} ± {record[value]['std']:.2f}" if seeds > 1 else mean


def gan_dynamics_section(gan_ids: Sequence[str], data_dir: Path = DATA_DIR) -> str:
    """The training-dynamics subsection of docs/results.md from its committed summary, one row per GAN of ``gan_ids``
    (the shipped seed alone, from the manifest, for a GAN not recorded yet)."""
    summary = read_json_summary(SUMMARY_NAME, data_dir) or {}
    lines = [
        "| GAN | seeds | epochs | D(real) / D(fake): first epoch | middle epoch | last epoch | loss G / loss D: last epoch "
        "| D(real) - D(fake): last epoch |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    missing, stale, closing = [], [], []
    for gan_id in gan_ids:
        if gan_id in summary:
            entry = summary[gan_id]
        else:  # the shipped seed alone, from its manifest history
            missing.append(gan_id)
            entry = {"sha256": gan_info(gan_id)["sha256"], **dynamics_over_seeds({0: gan_info(gan_id)["history"]})}
        if gan_info(gan_id)["sha256"] != entry["sha256"]:
            stale.append(gan_id)
        epochs, seeds = entry["epochs"], len(entry["seeds"])
        first, middle, last = epochs[0], epochs[(len(epochs) - 1) // 2], epochs[-1]
        last_gap = last["d_real"]["mean"] - last["d_fake"]["mean"]
        if last_gap < first["d_real"]["mean"] - first["d_fake"]["mean"]:
            closing.append(gan_id)
        lines.append(
            f"| `{gan_id}` | {', '.join(map(str, entry['seeds']))} | {len(epochs)} | "
            + " | ".join(f"{_at(r, 'd_real', seeds)} / {_at(r, 'd_fake', seeds)} (epoch {r['epoch']})" for r in (first, middle, last))
            + f" | {_at(last, 'loss_g', seeds)} / {_at(last, 'loss_d', seeds)} | {last_gap:.2f} |"
        )
    notes = []
    if closing:
        notes.append(
            f"The gap between D(real) and D(fake) is smaller at the last epoch than at the first for {len(closing)} of "
            f"{len(lines) - 2} GANs ({_listed(closing)}): over training their discriminator tells real from generated batches "
            'less well. The paper lists "generator-discriminator dynamics" among the GAN\'s explanations but reports no '
            "figures for them."
        )
    if stale:
        notes.append(f"{_listed(stale)} were retrained after these runs: `report-results --gan-dynamics {' '.join(stale)}`.")
    if missing:
        notes.append(
            f"Seeds 1 and 2 not recorded yet for {_listed(missing)}: their rows are the shipped seed 0 alone, from the "
            f"manifest (`python -m xai_core report-results --gan-dynamics {' '.join(missing)}` trains the other seeds)."
        )
    return f"""{HEADING}

Per-epoch means over the training batches, mean ± sample std over training seeds (a row of one seed has no ±), from
`docs/data/gan_dynamics.json`: seed 0 is the shipped GAN, seeds 1 and 2 retrain its configuration
(`report-results --gan-dynamics`). GAN Studio plots every epoch of the shipped GAN and exports it as CSV.
D(real) and D(fake) are the discriminator's mean probabilities that real and generated batches are real
(for the hinge-loss recipes, the sigmoid of its logits): 0.5 for both means it cannot tell them apart.

{chr(10).join(lines)}

{" ".join(notes)}
"""
