"""Evaluation and report commands of ``python -m xai_core``: evaluate, report-results, audit-report."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..captioning.results import results_document
from ..data import UNLABELLED_NOTE, load_dataset
from ..explainers import EXPLAINERS, is_known_method
from ..generative.training import SHIPPED_GAN_DATASETS
from ..jobs.executors import LocalExecutor
from ..jobs.tasks import evaluate as evaluate_on
from ..metrics.suite import METRICS, TARGET_SOURCES, EvaluationSettings, parse_pair, run_evaluation
from ..models import load_model
from ..reports.audit_report import write_audit_report
from ..reports.bundle import bundle_for_generated, bundle_for_image
from ..reports.dataset_count import record_dataset_count
from ..reports.evaluation_report import write_evaluation
from ..reports.gan_dynamics import record_gan_dynamics
from ..reports.gan_trials import record_gan_trials
from ..reports.reproduce import compare, comparison_lines, quick_rerun
from ..reports.results import RESULTS_PATH, check_document, record_evaluation, record_gan
from ..reports.sftgan_photos import write_summary as write_photo_summary
from .common import add_threads_option, apply_threads, load_image_argument, method_names, progress_bar, seed_list
from .jobs import add_executor_options, executor_from


def _cmd_evaluate(args: argparse.Namespace) -> int:
    apply_threads(args)
    settings = EvaluationSettings(
        reference_method=args.reference,
        perturbation_steps=args.perturbation_steps,
        robustness_images=args.robustness_images or None,
        sanity_images=args.sanity_images or None,
        sanity_steps=args.sanity_steps or None,
        batch_size=args.batch_size,
    )
    texts = [pair_on(text, args.dataset) for text in args.pairs]
    pairs = [parse_pair(text) for text in texts]
    with progress_bar("evaluate", args.quiet) as show:
        executor = executor_from(args)
        if isinstance(executor, LocalExecutor):  # in this process, with progress after every method
            result = run_evaluation(pairs, args.methods, args.metrics, args.n, args.seeds, settings, on_progress=show)
        else:  # one unit of work per (pair, seed) on Ray: the same rows
            result = evaluate_on(texts, args.methods, args.metrics, args.n, args.seeds, settings, executor, on_progress=show)
    written = write_evaluation(result, Path(args.out))
    for row in result.summary():
        level = f" @ {row['level']}" if row["level"] else ""
        print(f"{row['pair']:<28} {row['method']:<22} {row['metric'] + level:<40} {row['mean']:.4f} +- {row['std']:.4f}")
    for pair, target in result.targets.items():
        if target["source"] == "prediction":
            unlabelled = f"; accuracy {UNLABELLED_NOTE}" if not target["labelled"] else ""
            print(f"{pair}: the targets are {TARGET_SOURCES['prediction']}{unlabelled}")
    print(f"wrote {len(result.rows)} rows to {written[0]} (summary, JSON and {len(written) - 3} figures beside it)")
    return 0


def pair_on(text: str, dataset: str | None) -> str:
    """``--pairs`` entry with ``--dataset`` applied: a bare model id gets ``@dataset``; a pair naming its data keeps it."""
    return text if not dataset or "@" in text else f"{text.strip()}@{dataset}"


def _cmd_report_results(args: argparse.Namespace) -> int:
    if args.quick:
        if not args.rerun:
            raise ValueError("--quick re-runs a pinned subset: use it with --rerun")
        with progress_bar("report-results --rerun --quick", args.quiet) as show:
            comparisons = compare(quick_rerun(on_progress=show))
        lines = comparison_lines(comparisons)
        print("\n".join(lines))
        return 0 if all(c.passed for c in comparisons) else 1
    if args.gan_datasets and not args.gan_only:
        raise ValueError("--gan-datasets names the datasets whose GAN experiments --gan-only records: add --gan-only")
    if args.check:
        differences = check_document(results_document())
        print("\n".join(differences) or f"{RESULTS_PATH} follows from the committed summaries")
        return 1 if differences else 0
    with progress_bar("report-results", args.quiet) as show:
        if args.photos:
            print(f"wrote {write_photo_summary(seed_dirs=args.photo_seed_dirs, on_progress=show)}")
        if args.evaluation_only or (args.rerun and not args.gan_only):
            record_evaluation(rerun=args.rerun, on_progress=show)
        if args.gan_only or (args.rerun and not args.evaluation_only):
            record_gan(rerun=args.rerun, on_progress=show, datasets=args.gan_datasets)
        if args.dataset_count:
            print(f"wrote {record_dataset_count(on_progress=show)}")
        if args.gan_trials:
            print(f"wrote {record_gan_trials(args.gan_trials)}")
        if args.gan_dynamics is not None:
            print(f"wrote {record_gan_dynamics(args.gan_dynamics, on_progress=show)}")
    RESULTS_PATH.write_text(results_document())
    print(f"wrote {RESULTS_PATH}")
    return 0


def _audit_run(args: argparse.Namespace) -> int:
    """audit-report --run DIR: the report of a finished evaluation run."""
    if args.model or args.gan:
        raise ValueError("--run reports on a finished evaluation run: drop --model and --gan")
    path = write_audit_report(args.run, args.out, args.title)
    print(json.dumps({"report": str(path), "bytes": path.stat().st_size, "run": str(args.run)}, indent=2))
    return 0


def _audit_methods(args: argparse.Namespace) -> list[str]:
    if not args.model:
        raise ValueError("give --model (with --dataset/--index, --image and/or --gan), or --run DIR")
    if args.label is not None and not args.gan:
        raise ValueError("--label chooses the class of a GAN sample: give --gan too")
    methods = method_names(args.methods)
    unknown = [m for m in methods if not is_known_method(m)]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}")
    return methods


def _audit_bundle(args: argparse.Namespace, card, methods: list[str]):
    """The explanation bundle of the image (--image or --dataset/--index) and/or of a --gan sample, or None."""
    command = shlex.join(["python", "-m", "xai_core", *args.argv])
    bundle = None
    with progress_bar("audit-report", args.quiet) as show:
        if args.image or args.dataset:
            image, _, source = load_image_argument(args)
            mask = None if args.image else load_dataset(args.dataset, args.split)[args.index][2]
            bundle = bundle_for_image(
                card,
                image,
                args.target,
                methods,
                args.seed,
                mask=mask,
                dataset=None if args.image else args.dataset,
                split=args.split,
                index=None if args.image else args.index,
                source=source,
                title=args.title,
                command=command,
                on_progress=show,
            )
        if args.gan:
            bundle = bundle_for_generated(
                card,
                args.gan,
                None,
                args.label,
                methods,
                gan_seed=args.gan_seed,
                seed=args.seed,
                bundle=bundle,
                title=args.title,
                command=command,
                on_progress=show,
            )
    return bundle


def _cmd_audit_report(args: argparse.Namespace) -> int:
    if args.run:
        return _audit_run(args)
    methods = _audit_methods(args)
    card = load_model(args.model)
    bundle = _audit_bundle(args, card, methods)
    if bundle is None:
        raise ValueError("nothing to report on: give --dataset (with --index), --image or --gan")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(bundle.to_json(indent=1))
    path = write_audit_report(bundle, args.out, args.title)
    summary = {
        "report": str(path),
        "bytes": path.stat().st_size,
        "model": bundle.provenance["model"]["id"],
        "model_sha256": bundle.provenance["model"]["sha256"],
        "targets": bundle.targets,
        "maps": {subject: list(maps) for subject, maps in bundle.maps.items()},
        "not_applicable": bundle.not_applicable,
    }
    if bundle.latent_sensitivity is not None:
        summary.update(
            gan=args.gan, gan_sha256=bundle.provenance["gan"]["sha256"], most_sensitive_dimensions=bundle.latent_sensitivity.top(5)
        )
    if args.json:
        summary["bundle_json"] = str(args.json)
    print(json.dumps(summary, indent=2))
    return 0


def _register_evaluate(commands: argparse._SubParsersAction) -> None:
    defaults = EvaluationSettings()
    evaluate = commands.add_parser(
        "evaluate", help="run the metric suite over model/dataset pairs, methods and seeds; writes tidy CSV + JSON and plotly figures"
    )
    evaluate.add_argument(
        "--pairs", nargs="+", required=True, metavar="PAIR", help="model id, model@dataset (generalisation) or model@dataset[train]"
    )
    evaluate.add_argument(
        "--dataset",
        default=None,
        help="evaluate the models given by id alone on this dataset, e.g. folder:/path/to/photos (unlabelled folders: "
        "the maps explain the prediction)",
    )
    evaluate.add_argument(
        "--methods",
        nargs="+",
        default=["grad_cam", "lsft", "gsft"],
        metavar="METHOD",
        help=f"any of {', '.join(EXPLAINERS)}, or lsft|gsft-<strategy> for a chosen generator",
    )
    evaluate.add_argument("--metrics", nargs="+", default=list(METRICS), metavar="METRIC", help=f"any of {', '.join(METRICS)}")
    evaluate.add_argument("--n", type=int, default=100, help="images per pair and seed (drawn by the seed from the split)")
    evaluate.add_argument("--seeds", type=seed_list, default=[0], help="comma-separated, e.g. 0,1,2")
    evaluate.add_argument("--reference", default=defaults.reference_method, help="method that Dice and win %% compare with")
    evaluate.add_argument("--perturbation-steps", type=int, default=defaults.perturbation_steps, help="deletion/insertion steps")
    evaluate.add_argument(
        "--robustness-images", type=int, default=defaults.robustness_images, help="images re-explained under noise (0: all)"
    )
    evaluate.add_argument(
        "--sanity-images", type=int, default=defaults.sanity_images, help="images re-explained per randomised model (0: all)"
    )
    evaluate.add_argument(
        "--sanity-steps", type=int, default=defaults.sanity_steps, help="points of the randomisation cascade (0: every layer)"
    )
    evaluate.add_argument("--batch-size", type=int, default=defaults.batch_size)
    evaluate.add_argument("--out", required=True, help="output directory")
    add_threads_option(evaluate)
    evaluate.add_argument("--quiet", action="store_true")
    add_executor_options(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)


def _register_report_results(commands: argparse._SubParsersAction) -> None:
    """report-results. Long: one option per summary docs/results.md renders from, each with its help text."""
    report = commands.add_parser(
        "report-results",
        help="render docs/results.md from committed files only (checkpoints/manifest.json and the summaries in docs/data); "
        "the options below record those summaries first, or check them",
    )
    report.add_argument(
        "--check", action="store_true", help="re-render docs/results.md from the committed summaries and fail on any difference"
    )
    report.add_argument(
        "--evaluation-only",
        action="store_true",
        help="record the SFT-GAN evaluation summaries (pinned suite runs, reused from runs/evaluation unless --rerun), then render",
    )
    report.add_argument(
        "--gan-only",
        action="store_true",
        help="record the GAN experiments' summary (reused from runs/gan-results unless --rerun), then render",
    )
    report.add_argument(
        "--gan-datasets",
        nargs="+",
        choices=SHIPPED_GAN_DATASETS,
        metavar="DATASET",
        help="with --gan-only: record only these datasets' GAN experiments (after retraining their GANs), keeping the others' as committed",
    )
    report.add_argument(
        "--rerun",
        action="store_true",
        help="recompute instead of reusing runs/ (alone: the evaluation and the GAN experiments, hours on 2 cores)",
    )
    report.add_argument(
        "--quick",
        action="store_true",
        help="with --rerun: re-run a small pinned subset and compare it with the committed summaries (a few minutes)",
    )
    report.add_argument(
        "--dataset-count",
        action="store_true",
        help="train (or reuse from runs/dataset-count) LSFT on one dataset vs three over 3 seeds (Fig. 7; about an hour "
        "on 2 cores) and record docs/data/dataset_count.json, then render",
    )
    report.add_argument(
        "--gan-trials",
        nargs="+",
        type=Path,
        metavar="DIR",
        help="record the shapes GANs in these train-gan --out directories (and checkpoints) as the runs tried to make the "
        "shapes GANs work (docs/data/gan_trials.json), then render",
    )
    report.add_argument(
        "--gan-dynamics",
        nargs="*",
        metavar="GAN",
        help="train (or reuse from runs/gan-dynamics) training seeds 1 and 2 of the named shipped GANs (default: all six; "
        "hours on 2 cores) and record their per-epoch dynamics over seeds 0-2 in docs/data/gan_dynamics.json, then render",
    )
    report.add_argument(
        "--photos",
        action="store_true",
        help="measure the photos generators on the never-seen test photos (docs/data/sftgan_photos.json), then render",
    )
    report.add_argument(
        "--photo-seed-dirs",
        nargs="+",
        type=Path,
        default=[],
        metavar="DIR",
        help="with --photos: checkpoint directories holding the photos generators of further training seeds",
    )
    report.add_argument("--quiet", action="store_true")
    report.set_defaults(handler=_cmd_report_results)


def _register_audit_report(commands: argparse._SubParsersAction) -> None:
    audit = commands.add_parser(
        "audit-report",
        help="one self-contained HTML audit report: an image (and a GAN sample) "
        "with maps, scores, latent sensitivities and provenance, or a finished evaluation run",
    )
    audit.add_argument("--run", type=Path, default=None, help="a finished evaluation run directory (written by evaluate --out)")
    audit.add_argument("--model", default=None)
    source = audit.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    audit.add_argument("--index", type=int, default=0)
    audit.add_argument("--split", default="test", choices=["train", "test"])
    audit.add_argument(
        "--methods",
        nargs="+",
        default=["grad_cam", "lsft"],
        metavar="METHOD",
        help=f"comma- or space-separated, any of {', '.join(EXPLAINERS)}",
    )
    audit.add_argument("--target", type=int, default=None, help="class to explain on the image (default: the prediction)")
    audit.add_argument("--gan", default=None, help="also explain a sample of this GAN (an id from the manifests, e.g. cdcgan-mnist)")
    audit.add_argument("--gan-seed", type=int, default=0, help="seed of the GAN sample's latent code")
    audit.add_argument("--label", type=int, default=None, help="class of the sample, for a class-conditional GAN")
    audit.add_argument("--seed", type=int, default=0, help="seed of the explainers' randomness (SmoothGrad)")
    audit.add_argument("--title", default="", help="report title")
    audit.add_argument("--json", default=None, help="also write the explanation bundle as JSON here")
    audit.add_argument("--out", required=True, help="the HTML file to write")
    audit.add_argument("--quiet", action="store_true")
    audit.set_defaults(handler=_cmd_audit_report)


def register(commands: argparse._SubParsersAction) -> None:
    """evaluate, report-results, audit-report."""
    _register_evaluate(commands)
    _register_report_results(commands)
    _register_audit_report(commands)
