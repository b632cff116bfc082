"""Command line: ``python -m xai_core <command> ...`` (``--help`` lists the commands)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .data import DatasetUnavailable, ImageDecodeError, list_datasets, load_dataset, pil_to_tensor, read_image_file
from .data.decode import MAX_WORKING_SIDE, limit_side
from .data.registry import DATASETS
from .models import TRAINABLE_ARCHITECTURES, CheckpointError, TrainConfig, list_models, load_model, model_info, train_cnn
from .models.checkpoints import DEFAULT_CHECKPOINT_DIR, USER_CHECKPOINT_DIR, read_manifest
from .models.training import shipped_checkpoint_configs
from .attribution.layers import DEFAULT_ETA
from .captioning.commands import add_captioning_commands
from .jobs.commands import add_executor_options, add_jobs_commands
from .sftgan.explainer import average_relevance, explain_relevance
from .survey.repository import SurveyError


def _cmd_datasets(args: argparse.Namespace) -> int:
    rows = []
    for name, spec in DATASETS.items():
        try:
            split = load_dataset(name, "test")
            status = f"{len(split)} test images, {len(split.classes)} classes, {split.channels}x{split.image_size[0]}x{split.image_size[1]}"
        except DatasetUnavailable as error:
            status = f"unavailable: {error}"
        rows.append({"name": name, "description": spec.description, "source": spec.source, "masks": spec.has_masks, "status": status})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['name']:<14} {row['description']:<55} [{row['source']}] {row['status']}")
        print("also: folder:<path> (ImageFolder), torchvision-{mnist,fashion_mnist,emnist,cifar10}[:<root>]")
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    rows = []
    for model_id in list_models():
        info = model_info(model_id)
        rows.append({"id": model_id, "arch": info["arch"], "dataset": info["dataset"],
                     "test_accuracy": info.get("metrics", {}).get("test_accuracy"), "parameters": info.get("parameters")})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            accuracy = "pretrained" if row["test_accuracy"] is None else f"test acc {row['test_accuracy']:.4f}"
            print(f"{row['id']:<28} {row['arch']:<20} {row['dataset']:<14} {accuracy}")
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    config = TrainConfig(args.dataset, args.arch, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                         lr=args.lr, patience=args.patience, max_train=args.max_train, model_id=args.id or "")
    _refuse_shadowing_shipped(config.model_id, args.out, "models", "--id")
    entry = train_cnn(config, out_dir=args.out, progress=not args.quiet, device=args.device)
    if entry:  # rank 0 under torchrun
        print(json.dumps({"id": entry["id"], "file": str(Path(args.out) / entry["file"]), **entry["metrics"]}, indent=2))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .captioning.training import SHIPPED_CAPTIONER, train_captioner
    from .generative.training import shipped_gan_configs, train_gan
    from .sftgan.training import shipped_generator_configs, train_sftgan

    # what to retrain: (shipped configs, their id, the trainer, one summary line per manifest entry)
    if args.captioners:
        configs, identify, train, kind = [SHIPPED_CAPTIONER], lambda c: c.captioner_id, train_captioner, "captioner"
        summary = lambda m: f"BLEU-4 {m['bleu4']:.4f}, exact match {m['exact_match']:.4f}"  # noqa: E731
    elif args.gans:
        configs, identify, train, kind = shipped_gan_configs(), lambda c: c.gan_id, train_gan, "GAN"
        summary = lambda m: f"FID {m['fid']:.2f} (real vs real {m['fid_real_vs_real']:.2f})"  # noqa: E731
    elif args.generators:
        configs, identify, train, kind = shipped_generator_configs(), lambda c: c.generator_id, train_sftgan, "generator"
        summary = lambda m: f"held-out Dice vs Grad-CAM {m['val_dice']:.4f}"  # noqa: E731
    else:
        configs, identify, train, kind = shipped_checkpoint_configs(), lambda c: c.model_id, train_cnn, "checkpoint"
        summary = lambda m: f"test accuracy {m['test_accuracy']:.4f}"  # noqa: E731
    chosen = [c for c in configs if not args.only or identify(c) in args.only]
    if not chosen:
        raise SystemExit(f"no shipped {kind} matches {args.only}")
    for config in chosen:
        entry = train(config, out_dir=args.out, progress=not args.quiet)
        if entry:  # rank 0 under torchrun
            print(f"{entry['id']}: {summary(entry['metrics'])}", flush=True)
    return 0


def _refuse_shadowing_shipped(identifier: str, out: str, section: str, option: str) -> None:
    """A run written elsewhere under a shipped id would be hidden by the shipped one (it is found first)."""
    shipped = {entry["id"] for entry in read_manifest(DEFAULT_CHECKPOINT_DIR, section)}
    if identifier in shipped and Path(out).resolve() != DEFAULT_CHECKPOINT_DIR.resolve():
        raise ValueError(f"{identifier} is a shipped id; choose another with {option} "
                         "(or retrain the shipped one with reproduce-checkpoints)")


def _cmd_train_sftgan(args: argparse.Namespace) -> int:
    from .sftgan.training import SFTGANConfig, train_sftgan

    if args.threads:
        torch.set_num_threads(args.threads)
    config = SFTGANConfig(args.kind, args.strategy, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                          lambda_reconstruction=args.lambda_reconstruction, reconstruction=args.reconstruction,
                          channels=args.channels, condition_channels=args.condition_channels, eta=args.eta, per_pair=args.per_pair, holdout_fraction=args.holdout_fraction,
                          generator_id=args.id or "")
    _refuse_shadowing_shipped(config.generator_id, args.out, "generators", "--id")
    entry = train_sftgan(config, out_dir=args.out, run_dir=args.run_dir, cache_dir=args.cache_dir,
                         resume=not args.no_resume, progress=not args.quiet)
    if entry:  # rank 0 under torchrun
        print(json.dumps({"id": entry["id"], "file": str(Path(args.out) / entry["file"]), "parameters": entry["parameters"],
                          **{k: v for k, v in entry["metrics"].items() if k != "per_pair"}}, indent=2))
    return 0


def _cmd_train_gan(args: argparse.Namespace) -> int:
    from .generative.training import GANConfig, train_gan

    if args.threads:
        torch.set_num_threads(args.threads)
    config = GANConfig(args.dataset, conditional=args.conditional, seed=args.seed, epochs=args.epochs, batch_size=args.batch_size,
                       lr=args.lr, latent_dim=args.latent_dim, width=args.width, feature_model=args.feature_model or "",
                       gan_id=args.id or "")
    _refuse_shadowing_shipped(config.gan_id, args.out, "gans", "--id")
    entry = train_gan(config, out_dir=args.out, run_dir=args.run_dir, progress=not args.quiet, score=not args.no_fid,
                      device=args.device)
    if entry:  # rank 0 under torchrun
        print(json.dumps({"id": entry["id"], "file": str(Path(args.out) / entry["file"]), "parameters": entry["parameters"],
                          **entry["metrics"]}, indent=2))
    return 0


def _cmd_relevance(args: argparse.Namespace) -> int:
    from .explainers import build_explainer
    from .imaging import colorize, png_bytes

    card = load_model(args.model)
    explainer = build_explainer(args.generator, card)
    result: dict = {"model": card.id, "generator": args.generator}
    if args.average:
        if not args.dataset:
            raise ValueError("--average needs --dataset (it averages over that dataset's images)")
        dataset = load_dataset(args.dataset, args.split)
        count = min(args.average, len(dataset))
        bar = tqdm(total=count, desc="CGMA relevance", disable=args.quiet)
        mean, per_image = average_relevance(explainer, card.preprocess, dataset.float_images(slice(0, count)),
                                            on_progress=lambda done: bar.update(round(done * count) - bar.n))
        bar.close()
        result.update(source=f"{args.dataset}/{args.split}[:{count}]", images=count,
                      mean_relevance=[round(float(v), 4) for v in mean], std_relevance=[round(float(v), 4) for v in per_image.std(0)])
    else:
        image, _, source = _load_image_argument(args)
        analysis = explain_relevance(explainer, card.preprocess(image), args.target)
        result.update(source=source, relevance=[round(float(v), 4) for v in analysis.relevance[0]])
        if args.out:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            (out / "map.png").write_bytes(png_bytes(colorize(analysis.maps[0])))
            for k, blackout in enumerate(analysis.blackout[0]):
                (out / f"blackout-cgma{k}.png").write_bytes(png_bytes(colorize(blackout[None])))
            result["blackout_pngs"] = [f"blackout-cgma{k}.png" for k in range(len(analysis.blackout[0]))]
    if args.out:
        Path(args.out).mkdir(parents=True, exist_ok=True)
        (Path(args.out) / "relevance.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds:
        raise argparse.ArgumentTypeError("give at least one seed")
    return seeds


def _eta(text: str) -> int:
    """``--eta``: the number of CGMAs, a positive integer."""
    try:
        eta = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"eta must be a whole number, got {text!r}") from None
    if eta < 1:
        raise argparse.ArgumentTypeError(f"eta (the number of CGMAs) must be at least 1, got {eta}")
    return eta


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .jobs.commands import executor_from
    from .jobs.executors import LocalExecutor
    from .jobs.tasks import evaluate as evaluate_on
    from .metrics.suite import EvaluationSettings, parse_pair, run_evaluation, write_evaluation

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = EvaluationSettings(reference_method=args.reference, perturbation_steps=args.perturbation_steps,
                                  robustness_images=args.robustness_images or None, sanity_images=args.sanity_images or None,
                                  sanity_steps=args.sanity_steps or None, batch_size=args.batch_size)
    pairs = [parse_pair(text) for text in args.pairs]
    bar = tqdm(total=1.0, desc="evaluate", disable=args.quiet, bar_format="{l_bar}{bar}| {elapsed} {postfix}")

    def show(fraction: float, message: str) -> None:
        bar.n = round(fraction, 4)
        bar.set_postfix_str(message)

    executor = executor_from(args)
    if isinstance(executor, LocalExecutor):  # in this process, with progress after every method
        result = run_evaluation(pairs, args.methods, args.metrics, args.n, args.seeds, settings, on_progress=show)
    else:  # one unit of work per (pair, seed) on Ray: the same rows
        result = evaluate_on(args.pairs, args.methods, args.metrics, args.n, args.seeds, settings, executor, on_progress=show)
    bar.close()
    written = write_evaluation(result, Path(args.out))
    for row in result.summary():
        level = f" @ {row['level']}" if row["level"] else ""
        print(f"{row['pair']:<28} {row['method']:<22} {row['metric'] + level:<40} {row['mean']:.4f} +- {row['std']:.4f}")
    print(f"wrote {len(result.rows)} rows to {written[0]} (summary, JSON and {len(written) - 3} figures beside it)")
    return 0


def _cmd_report_results(args: argparse.Namespace) -> int:
    from .reports.results import write_gan_results, write_results

    bar = tqdm(total=1.0, desc="report-results", disable=args.quiet, bar_format="{l_bar}{bar}| {elapsed} {postfix}")

    def show(fraction: float, message: str) -> None:
        bar.n = round(fraction, 4)
        bar.set_postfix_str(message)

    path = (write_gan_results if args.gan_only else write_results)(rerun=args.rerun, on_progress=show)
    bar.close()
    print(f"wrote {path}")
    return 0


def _method_names(values: list[str]) -> list[str]:
    """``["grad_cam,lsft", "saliency"]`` -> ["grad_cam", "lsft", "saliency"] (commas or spaces separate methods)."""
    return list(dict.fromkeys(name.strip() for value in values for name in value.split(",") if name.strip()))


def _cmd_audit_report(args: argparse.Namespace) -> int:
    import shlex

    from .explainers import is_known_method
    from .reports.audit_report import write_audit_report
    from .reports.bundle import bundle_for_generated, bundle_for_image

    if args.run:
        if args.model or args.gan:
            raise ValueError("--run reports on a finished evaluation run: drop --model and --gan")
        path = write_audit_report(args.run, args.out, args.title)
        print(json.dumps({"report": str(path), "bytes": path.stat().st_size, "run": str(args.run)}, indent=2))
        return 0
    if not args.model:
        raise ValueError("give --model (with --dataset/--index, --image and/or --gan), or --run DIR")
    if args.label is not None and not args.gan:
        raise ValueError("--label chooses the class of a GAN sample: give --gan too")
    methods = _method_names(args.methods)
    unknown = [m for m in methods if not is_known_method(m)]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}")
    card = load_model(args.model)
    command = shlex.join(["python", "-m", "xai_core", *args.argv])
    bar = tqdm(total=1.0, desc="audit-report", disable=args.quiet, bar_format="{l_bar}{bar}| {elapsed} {postfix}")

    def show(fraction: float, message: str) -> None:
        bar.n = round(fraction, 4)
        bar.set_postfix_str(message)

    bundle = None
    if args.image or args.dataset:
        image, _, source = _load_image_argument(args)
        mask = None if args.image else load_dataset(args.dataset, args.split)[args.index][2]
        bundle = bundle_for_image(card, image, args.target, methods, args.seed, mask=mask,
                                  dataset=None if args.image else args.dataset, split=args.split,
                                  index=None if args.image else args.index, source=source, title=args.title, command=command,
                                  on_progress=show)
    if args.gan:
        bundle = bundle_for_generated(card, args.gan, None, args.label, methods, gan_seed=args.gan_seed, seed=args.seed,
                                      bundle=bundle, title=args.title, command=command, on_progress=show)
    bar.close()
    if bundle is None:
        raise ValueError("nothing to report on: give --dataset (with --index), --image or --gan")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(bundle.to_json(indent=1))
    path = write_audit_report(bundle, args.out, args.title)
    summary = {"report": str(path), "bytes": path.stat().st_size, "model": bundle.provenance["model"]["id"],
               "model_sha256": bundle.provenance["model"]["sha256"], "targets": bundle.targets,
               "maps": {subject: list(maps) for subject, maps in bundle.maps.items()}, "not_applicable": bundle.not_applicable}
    if bundle.latent_sensitivity is not None:
        summary.update(gan=args.gan, gan_sha256=bundle.provenance["gan"]["sha256"],
                       most_sensitive_dimensions=bundle.latent_sensitivity.top(5))
    if args.json:
        summary["bundle_json"] = str(args.json)
    print(json.dumps(summary, indent=2))
    return 0


def _load_image_argument(args: argparse.Namespace) -> tuple[torch.Tensor, int | None, str]:
    if args.image:
        return pil_to_tensor(limit_side(read_image_file(args.image), MAX_WORKING_SIDE)), None, str(args.image)
    dataset = load_dataset(args.dataset, args.split)
    if not 0 <= args.index < len(dataset):
        raise ValueError(f"--index must be in 0..{len(dataset) - 1} for {args.dataset}/{args.split}")
    image, label, _ = dataset[args.index]
    return image, label, f"{args.dataset}/{args.split}[{args.index}]"


def _cmd_predict(args: argparse.Namespace) -> int:
    if args.top < 1:
        raise ValueError("--top must be at least 1")
    card = load_model(args.model)
    image, label, source = _load_image_argument(args)
    top = card.predict(image, k=args.top)
    result = {
        "model": card.id, "source": source,
        "true_label": label, "true_class": None if label is None else load_dataset(args.dataset, args.split).classes[label],
        "predicted_label": top[0].label, "predicted_class": top[0].name,
        "top": [{"label": p.label, "class": p.name, "probability": round(p.probability, 6)} for p in top],
    }
    print(json.dumps(result, indent=2))
    return 0


def _cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np

    from .explainers import EXPLAINERS, explain
    from .attribution import NotApplicable, cumulative_gradcam_averages, layer_gradcams
    from .imaging import overlay, png_bytes

    unknown = [m for m in args.methods if m not in EXPLAINERS]
    if unknown:
        raise ValueError(f"unknown method(s) {', '.join(unknown)}; choose from {', '.join(EXPLAINERS)}")
    card = load_model(args.model)
    image, label, source = _load_image_argument(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    top = card.predict(image, k=5)
    target = top[0].label if args.target is None else args.target
    if not 0 <= target < len(card.classes):
        raise ValueError(f"--target must be in 0..{len(card.classes) - 1}")
    summary = {"model": card.id, "source": source, "true_label": label, "predicted_label": top[0].label,
               "predicted_class": top[0].name, "target": target, "target_class": card.classes[target], "maps": {}}
    for method in tqdm(args.methods, desc="explaining", disable=args.quiet):
        try:
            saliency = explain(card, image, [method], target)[method][0]
        except NotApplicable as reason:
            summary["maps"][method] = {"not_applicable": str(reason)}
            continue
        np.save(out / f"{method}.npy", saliency[0].numpy())
        (out / f"{method}.png").write_bytes(png_bytes(overlay(image, saliency, args.opacity)))
        summary["maps"][method] = {"npy": f"{method}.npy", "png": f"{method}.png", "mean": round(float(saliency.mean()), 6)}
    if args.layers:
        layers = layer_gradcams(card.model, card.preprocess(image), target)
        np.save(out / "layer_gradcams.npy", layers.maps[0].numpy())
        np.save(out / "cgmas.npy", cumulative_gradcam_averages(layers, args.eta)[0].numpy())
        summary["layers"] = {"names": layers.names, "npy": "layer_gradcams.npy", "cgmas": "cgmas.npy", "eta": args.eta}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    return 0


def _class_index(text: str, classes: list[str]) -> int:
    """A class given by name (``A``) or by index (``0``) -> its index."""
    if text in classes:
        return classes.index(text)
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(classes):
        return int(text)
    raise ValueError(f"unknown class {text!r}; give a class name ({', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}) "
                     f"or an index in 0..{len(classes) - 1}")


def _cmd_tcav(args: argparse.Namespace) -> int:
    from .attribution.tcav import run_tcav
    from .data.concepts import concept_names

    if args.threads:
        torch.set_num_threads(args.threads)
    card = load_model(args.model)
    concepts = [name.strip() for name in args.concepts.split(",") if name.strip()]
    if not concepts:
        raise ValueError(f"give at least one concept; {card.dataset} has: {', '.join(concept_names(card.dataset or '')) or 'none'}")
    target = _class_index(args.target, card.classes)
    bar = tqdm(total=1.0, desc="tcav", disable=args.quiet, bar_format="{l_bar}{bar}| {elapsed} {postfix}")

    def show(fraction: float, message: str) -> None:
        bar.n = round(fraction, 4)
        bar.set_postfix_str(message)

    result = run_tcav(card, concepts, target, n_images=args.n, n_random=args.randoms, seed=args.seed, layer_name=args.layer,
                      alpha=args.alpha, bonferroni=args.bonferroni, progress=show)
    bar.close()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tcav.csv").write_text(result.to_csv())
    (out / "tcav.json").write_text(result.to_json())
    print(f"TCAV for class {result.target_class} of {card.id} at {result.layer}: random {result.random_mean:.3f} +- "
          f"{result.random_std:.3f} over {result.n_random_sets} random-vs-random runs")
    for row in result.rows():
        print(f"{row['concept']:<20} TCAV {row['tcav_score']:.3f} +- {row['score_std']:.3f}  p {row['p_adjusted']:.3g} "
              f"{row['stars']:<3} {'significant' if row['significant'] else 'not significant'}  CAV accuracy {row['cav_accuracy']:.2f}")
    print(f"wrote {out / 'tcav.csv'} and {out / 'tcav.json'}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m xai_core", description="XAI Studio engine: datasets, models, training, prediction, explanation.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    datasets = commands.add_parser("datasets", help="list datasets and whether each is available here")
    datasets.add_argument("--json", action="store_true")
    datasets.set_defaults(handler=_cmd_datasets)

    models = commands.add_parser("models", help="list loadable models with their test accuracy")
    models.add_argument("--json", action="store_true")
    models.set_defaults(handler=_cmd_models)

    train = commands.add_parser("train-cnn", help="train a CNN on a dataset and save it with a manifest entry "
                                "(also under torchrun: DDP over gloo, or nccl with --device cuda)")
    train.add_argument("--dataset", required=True, help=f"one of {', '.join(list_datasets())}, folder:<path>, ...")
    train.add_argument("--arch", required=True, choices=TRAINABLE_ARCHITECTURES)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--batch-size", type=int, default=128)
    train.add_argument("--lr", type=float, default=2e-3)
    train.add_argument("--patience", type=int, default=3, help="stop after this many epochs without a better validation accuracy")
    train.add_argument("--max-train", type=int, default=None, help="use at most this many training images")
    train.add_argument("--id", default=None, help="model id (default <arch>-<dataset>)")
    train.add_argument("--out", default=str(USER_CHECKPOINT_DIR),
                       help="checkpoint directory whose manifest.json is updated (default runs/checkpoints, which the app lists)")
    train.add_argument("--threads", type=int, default=None)
    train.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="under torchrun, cuda means one GPU per rank")
    train.add_argument("--quiet", action="store_true", help="no progress bars")
    train.set_defaults(handler=_cmd_train)

    reproduce = commands.add_parser("reproduce-checkpoints", help="retrain every shipped checkpoint from its recorded settings")
    reproduce.add_argument("--only", nargs="*", help="model ids to retrain (default: all)")
    reproduce.add_argument("--out", default=str(DEFAULT_CHECKPOINT_DIR))
    reproduce.add_argument("--generators", action="store_true", help="retrain the shipped SFT-GAN generators instead of the CNNs")
    reproduce.add_argument("--gans", action="store_true", help="retrain the shipped DCGANs instead of the CNNs")
    reproduce.add_argument("--captioners", action="store_true", help="retrain the shipped captioner instead of the CNNs")
    reproduce.add_argument("--quiet", action="store_true")
    reproduce.set_defaults(handler=_cmd_reproduce)

    from .sftgan.data import DEFAULT_CACHE_DIR, STRATEGIES
    from .sftgan.networks import GENERATOR_KINDS

    sftgan = commands.add_parser("train-sftgan", help="train an LSFT/GSFT generator over a strategy's dataset/CNN pairs "
                                 "(also under torchrun: DDP over gloo)")
    sftgan.add_argument("--kind", required=True, choices=GENERATOR_KINDS)
    sftgan.add_argument("--strategy", required=True, choices=list(STRATEGIES))
    sftgan.add_argument("--seed", type=int, default=0)
    sftgan.add_argument("--epochs", type=int, default=6)
    sftgan.add_argument("--batch-size", type=int, default=32)
    sftgan.add_argument("--lr", type=float, default=2e-4)
    sftgan.add_argument("--lambda", dest="lambda_reconstruction", type=float, default=100.0, help="weight of the reconstruction loss")
    sftgan.add_argument("--reconstruction", choices=["mse", "l1"], default="mse")
    sftgan.add_argument("--channels", type=int, default=24, help="generator trunk width")
    sftgan.add_argument("--condition-channels", type=int, default=16, help="condition network width")
    sftgan.add_argument("--eta", type=_eta, default=DEFAULT_ETA, help="CGMAs per image = SFT blocks")
    sftgan.add_argument("--per-pair", type=int, default=1000, help="images per dataset/CNN pair")
    sftgan.add_argument("--holdout-fraction", type=float, default=0.2, help="share of each dataset's classes kept for validation")
    sftgan.add_argument("--id", default=None, help="generator id (default <kind>-<strategy>)")
    sftgan.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints)")
    sftgan.add_argument("--run-dir", default=None, help="resumable state, history.json, loss_curves.png (default runs/sftgan/<id>-seed<seed>)")
    sftgan.add_argument("--cache-dir", default=str(DEFAULT_CACHE_DIR), help="where (image, CGMAs, Grad-CAM) shards are cached")
    sftgan.add_argument("--no-resume", action="store_true", help="start from scratch even if run-dir holds a state")
    sftgan.add_argument("--threads", type=int, default=None)
    sftgan.add_argument("--quiet", action="store_true")
    sftgan.set_defaults(handler=_cmd_train_sftgan)

    gan = commands.add_parser("train-gan", help="train a DCGAN (unconditional or --conditional) on a dataset; sample grid per "
                              "epoch in the run dir, FID beside the real-vs-real baseline in the manifest "
                              "(also under torchrun: DDP over gloo, or nccl with --device cuda)")
    gan.add_argument("--dataset", required=True)
    gan.add_argument("--conditional", action="store_true", help="class-conditional generator and projection discriminator")
    gan.add_argument("--seed", type=int, default=0)
    gan.add_argument("--epochs", type=int, default=30)
    gan.add_argument("--batch-size", type=int, default=64)
    gan.add_argument("--lr", type=float, default=2e-4)
    gan.add_argument("--latent-dim", type=int, default=64)
    gan.add_argument("--width", type=int, default=64, help="generator/discriminator base width")
    gan.add_argument("--feature-model", default=None, help="CNN whose penultimate layer is the FID feature network (default vgg-<dataset>)")
    gan.add_argument("--no-fid", action="store_true", help="skip scoring (FID needs the feature CNN)")
    gan.add_argument("--id", default=None, help="GAN id (default dcgan-<dataset> or cdcgan-<dataset>)")
    gan.add_argument("--out", default=str(USER_CHECKPOINT_DIR), help="checkpoint directory (default runs/checkpoints)")
    gan.add_argument("--run-dir", default=None, help="sample grids and history.json (default runs/gan/<id>-seed<seed>)")
    gan.add_argument("--threads", type=int, default=None)
    gan.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="under torchrun, cuda means one GPU per rank")
    gan.add_argument("--quiet", action="store_true")
    gan.set_defaults(handler=_cmd_train_gan)

    relevance = commands.add_parser("relevance", help="CGMA-ablation relevance of an SFT-GAN: one image, or averaged over a dataset")
    relevance.add_argument("--model", required=True)
    relevance.add_argument("--generator", choices=GENERATOR_KINDS, default="lsft")
    source = relevance.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    relevance.add_argument("--index", type=int, default=0)
    relevance.add_argument("--split", default="test", choices=["train", "test"])
    relevance.add_argument("--target", type=int, default=None, help="class to explain (default: the prediction)")
    relevance.add_argument("--average", type=int, default=0, metavar="N", help="average over the first N images of --dataset")
    relevance.add_argument("--out", default=None, help="write relevance.json (and, for one image, the map and 8 blackout PNGs)")
    relevance.add_argument("--quiet", action="store_true")
    relevance.set_defaults(handler=_cmd_relevance)

    from .explainers import EXPLAINERS
    from .metrics.suite import METRICS, EvaluationSettings

    defaults = EvaluationSettings()
    evaluate = commands.add_parser("evaluate", help="run the metric suite over model/dataset pairs, methods and seeds; "
                                   "writes tidy CSV + JSON and plotly figures")
    evaluate.add_argument("--pairs", nargs="+", required=True, metavar="PAIR",
                          help="model id, model@dataset (generalisation) or model@dataset[train]")
    evaluate.add_argument("--methods", nargs="+", default=["grad_cam", "lsft", "gsft"], metavar="METHOD",
                          help=f"any of {', '.join(EXPLAINERS)}, or lsft|gsft-<strategy> for a chosen generator")
    evaluate.add_argument("--metrics", nargs="+", default=list(METRICS), metavar="METRIC", help=f"any of {', '.join(METRICS)}")
    evaluate.add_argument("--n", type=int, default=100, help="images per pair and seed (drawn by the seed from the split)")
    evaluate.add_argument("--seeds", type=_seed_list, default=[0], help="comma-separated, e.g. 0,1,2")
    evaluate.add_argument("--reference", default=defaults.reference_method, help="method that Dice and win %% compare with")
    evaluate.add_argument("--perturbation-steps", type=int, default=defaults.perturbation_steps, help="deletion/insertion steps")
    evaluate.add_argument("--robustness-images", type=int, default=defaults.robustness_images, help="images re-explained under noise (0: all)")
    evaluate.add_argument("--sanity-images", type=int, default=defaults.sanity_images, help="images re-explained per randomised model (0: all)")
    evaluate.add_argument("--sanity-steps", type=int, default=defaults.sanity_steps, help="points of the randomisation cascade (0: every layer)")
    evaluate.add_argument("--batch-size", type=int, default=defaults.batch_size)
    evaluate.add_argument("--out", required=True, help="output directory")
    evaluate.add_argument("--threads", type=int, default=None)
    evaluate.add_argument("--quiet", action="store_true")
    add_executor_options(evaluate)
    evaluate.set_defaults(handler=_cmd_evaluate)

    report = commands.add_parser("report-results", help="regenerate docs/results.md: model figures from the manifest, "
                                 "the paper's evaluation tables from the pinned suite runs (cached in runs/evaluation), "
                                 "the GAN tables from the pinned GAN experiments (cached in runs/gan-results)")
    report.add_argument("--rerun", action="store_true", help="recompute the evaluation runs even when cached")
    report.add_argument("--gan-only", action="store_true", help="only (re)compute the GAN sections and replace them at the end "
                        "of the existing docs/results.md")
    report.add_argument("--quiet", action="store_true")
    report.set_defaults(handler=_cmd_report_results)

    audit = commands.add_parser("audit-report", help="one self-contained HTML audit report: an image (and a GAN sample) "
                                "with maps, scores, latent sensitivities and provenance, or a finished evaluation run")
    audit.add_argument("--run", type=Path, default=None, help="a finished evaluation run directory (written by evaluate --out)")
    audit.add_argument("--model", default=None)
    source = audit.add_mutually_exclusive_group()
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    audit.add_argument("--index", type=int, default=0)
    audit.add_argument("--split", default="test", choices=["train", "test"])
    audit.add_argument("--methods", nargs="+", default=["grad_cam", "lsft"], metavar="METHOD",
                       help=f"comma- or space-separated, any of {', '.join(EXPLAINERS)}")
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

    predict = commands.add_parser("predict", help="predict one image; prints JSON")
    predict.add_argument("--model", required=True)
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path, help="an image file")
    source.add_argument("--dataset", help="a dataset name (with --index)")
    predict.add_argument("--index", type=int, default=0)
    predict.add_argument("--split", default="test", choices=["train", "test"])
    predict.add_argument("--top", type=int, default=5)
    predict.set_defaults(handler=_cmd_predict)

    explain = commands.add_parser("explain", help="explain one image: PNG overlays, .npy maps and summary.json")
    explain.add_argument("--model", required=True)
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", type=Path)
    source.add_argument("--dataset")
    explain.add_argument("--index", type=int, default=0)
    explain.add_argument("--split", default="test", choices=["train", "test"])
    explain.add_argument("--methods", nargs="+", default=list(EXPLAINERS), metavar="METHOD", help=f"any of {', '.join(EXPLAINERS)}")
    explain.add_argument("--target", type=int, default=None, help="class to explain (default: the prediction)")
    explain.add_argument("--layers", action="store_true", help="also save every conv layer's Grad-CAM and the CGMAs")
    explain.add_argument("--eta", type=_eta, default=DEFAULT_ETA, help="CGMAs saved with --layers")
    explain.add_argument("--opacity", type=float, default=0.5)
    explain.add_argument("--out", required=True, help="output directory")
    explain.add_argument("--quiet", action="store_true")
    explain.set_defaults(handler=_cmd_explain)

    from .attribution.tcav import DEFAULT_ALPHA, MIN_RANDOM_SETS

    tcav = commands.add_parser("tcav", help="TCAV (Kim et al. 2018): how much registered concepts (thick strokes, slanted, "
                               "red ...) push a class, with t-tests over random concepts; writes tcav.csv and tcav.json")
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
    tcav.add_argument("--threads", type=int, default=None)
    tcav.add_argument("--quiet", action="store_true")
    tcav.set_defaults(handler=_cmd_tcav)

    from .survey.commands import add_survey_commands

    add_survey_commands(commands)
    add_jobs_commands(commands)
    add_captioning_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.handler(args)
    except (DatasetUnavailable, ImageDecodeError, CheckpointError, SurveyError, KeyError, ValueError) as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
