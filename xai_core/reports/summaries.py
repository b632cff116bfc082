"""The committed summaries docs/results.md is rendered from (``docs/data/``), so a clean clone can re-render
and check every figure (``report-results --check``) without the git-ignored ``runs/`` caches.

* ``evaluation/<experiment>.csv``: one row per (pair, method, metric, level, seed) with the mean over its
  images (``value``) and their count (``n``), at full float precision; ``evaluation/<experiment>.json``: the
  run's configuration, skipped methods, targets and the sha256 of every generator it used.
* ``evaluation/relevance.json`` (Fig. 15), ``gan_experiments.json``, ``captioning.json``, ``sftgan_photos.json``
  and the rest: small JSON documents, each written by the command that computes it.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from ..metrics.suite import EvaluationResult, seed_means
from ..models.checkpoints import REPOSITORY_ROOT

DATA_DIR = REPOSITORY_ROOT / "docs" / "data"
SEED_COLUMNS = ("pair", "method", "metric", "level", "seed", "n", "value")


def evaluation_paths(name: str, data_dir: Path = DATA_DIR) -> tuple[Path, Path]:
    return data_dir / "evaluation" / f"{name}.csv", data_dir / "evaluation" / f"{name}.json"


def write_evaluation_summary(name: str, result: EvaluationResult, generators: dict[str, str], data_dir: Path = DATA_DIR) -> Path:
    """Record ``result`` (per-image or per-seed rows) as the per-seed CSV and its metadata JSON; returns the CSV path.
    ``generators``: {generator id: sha256} of every SFT-GAN generator the run used."""
    table, meta = evaluation_paths(name, data_dir)
    table.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(SEED_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in seed_means(result.rows):  # in the run's order: the renderer reads pairs, methods and levels in it
        writer.writerow({**row, "value": repr(float(row["value"]))})
    table.write_text(buffer.getvalue())
    record = {"config": result.config, "skipped": result.skipped, "targets": result.targets, "generators": generators}
    meta.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return table


def read_evaluation_summary(name: str, data_dir: Path = DATA_DIR) -> tuple[EvaluationResult, dict[str, str]]:
    """(the run with per-seed rows, {generator id: sha256}); ValueError naming the command when it is missing."""
    table, meta = evaluation_paths(name, data_dir)
    if not (table.is_file() and meta.is_file()):
        raise ValueError(f"no committed summary of the {name!r} run ({table}): run `python -m xai_core report-results --evaluation-only`")
    rows = [
        {**row, "seed": int(row["seed"]), "n": int(row["n"]), "value": float(row["value"])}
        for row in csv.DictReader(io.StringIO(table.read_text()))
    ]
    record = json.loads(meta.read_text())
    return EvaluationResult(rows, record["config"], record["skipped"], record["targets"]), record["generators"]


def write_json_summary(name: str, data: Any, data_dir: Path = DATA_DIR) -> Path:
    path = data_dir / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1) + "\n")  # in the run's order: the tables list rows in it
    return path


def read_json_summary(name: str, data_dir: Path = DATA_DIR) -> Any | None:
    """The committed summary ``name`` (e.g. "gan_experiments"), or None when it has not been recorded."""
    path = data_dir / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None
