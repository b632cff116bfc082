"""Concept commands of ``python -m xai_core``: tcav."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..attribution.tcav import DEFAULT_ALPHA, MIN_RANDOM_SETS, run_tcav
from ..data.concepts import concept_names
from ..models import load_model
from .common import add_threads_option, apply_threads, class_index, progress_bar


def _cmd_tcav(args: argparse.Namespace) -> int:
    apply_threads(args)
    card = load_model(args.model)
    concepts = [name.strip() for name in args.concepts.split(",") if name.strip()]
    if not concepts:
        raise ValueError(f"give at least one concept; {card.dataset} has: {', '.join(concept_names(card.dataset or '')) or 'none'}")
    target = class_index(args.target, card.classes)
    with progress_bar("tcav", args.quiet) as show:
        result = run_tcav(
            card,
            concepts,
            target,
            n_images=args.n,
            n_random=args.randoms,
            seed=args.seed,
            layer_name=args.layer,
            alpha=args.alpha,
            bonferroni=args.bonferroni,
            progress=show,
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tcav.csv").write_text(result.to_csv())
    (out / "tcav.json").write_text(result.to_json())
    print(
        f"TCAV for class {result.target_class} of {card.id} at {result.layer}: random {result.random_mean:.3f} +- "
        f"{result.random_std:.3f} over {result.n_random_sets} random-vs-random runs"
    )
    for row in result.rows():
        print(
            f"{row['concept']:<20} TCAV {row['tcav_score']:.3f} +- {row['score_std']:.3f}  p {row['p_adjusted']:.3g} "
            f"{row['stars']:<3} {'significant' if row['significant'] else 'not significant'}  CAV accuracy {row['cav_accuracy']:.2f}"
        )
    print(f"wrote {out / 'tcav.csv'} and {out / 'tcav.json'}")
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """tcav."""
    tcav = commands.add_parser(
        "tcav",
        help="TCAV (Kim et al. 2018): how much registered concepts (thick strokes, slanted, "
        "red ...) push a class, with t-tests over random concepts; writes tcav.csv and tcav.json",
    )
    tcav.add_argument("--model", required=True)
    tcav.add_argument("--concepts", required=True, help='comma-separated concept names, e.g. "thick strokes,slanted"')
    tcav.add_argument("--target", required=True, help="the class: its name (e.g. A) or index")
    tcav.add_argument("--layer", default=None, help="layer name as in the model's named_modules (default: the last conv layer)")
    tcav.add_argument("--randoms", type=int, default=MIN_RANDOM_SETS, help=f"random concept sets (at least {MIN_RANDOM_SETS})")
    tcav.add_argument("--n", type=int, default=50, help="images per concept set, per random set and of the class")
    tcav.add_argument("--seed", type=int, default=0)
    tcav.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="significance level of the t-test")
    tcav.add_argument("--bonferroni", action="store_true", help="divide alpha by the number of concepts")
    tcav.add_argument("--out", required=True, help="output directory")
    add_threads_option(tcav)
    tcav.add_argument("--quiet", action="store_true")
    tcav.set_defaults(handler=_cmd_tcav)
