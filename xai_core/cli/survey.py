"""Survey commands of ``python -m xai_core``: survey-demo, survey-create, surveys, survey-status, survey-report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tqdm.auto import tqdm

from ..captioning import CAPTION_METHODS
from ..data import pil_to_tensor, read_image_file
from ..explainers import EXPLAINERS, method_label
from ..survey.access import ADMIN_PASSWORD_VARIABLE, share_link
from ..survey.design import ATTENTION_KINDS, DEMO_DESIGN, TASK_DESIGNS, TASKS, SurveyDesign, create_survey
from ..survey.export import survey_report, write_report
from ..survey.repository import DATABASE_URL_VARIABLE, SurveyStore

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def _store(args: argparse.Namespace) -> SurveyStore:
    return SurveyStore(args.database)


def _image_files(paths: list[Path]) -> list[Path]:
    """Files as given, and the images inside any folder (sorted)."""
    files = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        elif path.is_file():
            files.append(path)
        else:
            raise ValueError(f"{path} does not exist")
    if not files:
        raise ValueError(f"no image files in {', '.join(map(str, paths))}")
    return files


def _create(args: argparse.Namespace, design: SurveyDesign) -> int:
    store = _store(args)
    images = sources = None
    if getattr(args, "images", None):
        files = _image_files(args.images)
        images, sources = [pil_to_tensor(read_image_file(path)) for path in files], [path.name for path in files]
    with tqdm(total=100, disable=args.quiet, desc="building the survey") as bar:

        def on_progress(done: float, message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(round(done * 100) - bar.n)

        code = create_survey(store, design, images, sources, on_progress=on_progress)
    if args.open:
        store.set_status(code, "open")
    survey = store.survey(code)
    print(
        json.dumps(
            {
                "code": code,
                "status": survey.status,
                "questions": survey.questions,
                "database": store.url,
                "share_link": share_link(code, args.base_url),
                "completion_code": survey.completion_code,
            },
            indent=2,
        )
    )
    if survey.status != "open":
        print(f"open it with: python -m xai_core survey-status {code} open")
    print(
        f"admin and results pages: {(args.base_url or 'http://localhost:8501').rstrip('/')}/survey-admin "
        f"(start the app with {ADMIN_PASSWORD_VARIABLE}=<password> make run)"
    )
    return 0


def _cmd_survey_demo(args: argparse.Namespace) -> int:
    args.open = True
    return _create(args, DEMO_DESIGN)


def _read_text(path: Path | None, default: str) -> str:
    return path.read_text(encoding="utf-8") if path else default


def _cmd_survey_create(args: argparse.Namespace) -> int:
    """Options left out take the task's defaults (TASK_DESIGNS)."""
    task = TASK_DESIGNS[args.task]
    design = SurveyDesign(
        title=args.title,
        methods=tuple(args.methods or task.methods),
        model_id=args.model or task.model_id,
        dataset="" if args.images else args.dataset or task.dataset,
        split=args.split,
        questions=task.questions if args.questions is None else args.questions,
        seed=args.seed,
        attention_checks=args.attention_checks,
        attention_kinds=tuple(args.attention_kinds),
        shuffle_questions=not args.no_shuffle,
        consent_text=_read_text(args.consent_file, task.consent_text),
        instructions=_read_text(args.instructions_file, task.instructions),
        task=args.task,
    )
    return _create(args, design)


def _cmd_surveys(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = []
    for survey in store.list_surveys():
        progress = store.progress(survey.code)
        rows.append(
            {
                "code": survey.code,
                "title": survey.title,
                "status": survey.status,
                "methods": survey.methods,
                "questions": survey.questions,
                "respondents": progress.respondents,
                "completed": progress.completed,
                "votes": progress.responses,
                "created_at": survey.created_at.isoformat(),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print(f"no surveys in {store.url}; create one with: python -m xai_core survey-demo")
    for row in rows if not args.json else []:
        print(
            f"{row['code']}  {row['status']:<6} {row['completed']:>4}/{row['respondents']:<4} completed  "
            f"{row['votes']:>5} votes  {row['title']}"
        )
    return 0


def _cmd_survey_status(args: argparse.Namespace) -> int:
    survey = _store(args).set_status(args.code, args.status)
    print(f"{survey.code}: {survey.status}")
    return 0


def _cmd_survey_report(args: argparse.Namespace) -> int:
    report = survey_report(_store(args), args.code)
    written = write_report(report, args.out)
    task = report.survey.settings.get("task", "classification")
    print(f"{report.survey.code} '{report.survey.title}' ({task}): {len(report.responses)} votes stored")
    for name, analysis in report.analyses.items():
        print(f"\n{name}: {analysis.respondents_analysed} respondents analysed ({analysis.respondents_excluded} failed an attention check)")
        for row in analysis.pairwise.itertuples():
            share = "n/a" if row.decisive == 0 else f"{row.share_a:.1%} [{row.ci_low:.1%}, {row.ci_high:.1%}]"
            print(
                f"  {method_label(row.method_a)} vs {method_label(row.method_b)}: {row.wins_a} / {row.wins_b} / {row.ties} equal; "
                f"share {share}, binomial p = {row.p_value:.3g}"
            )
        winners = ", ".join(
            f"{w.method_or_equal if w.method_or_equal == 'equal' else method_label(w.method_or_equal)} {w.questions}"
            for w in analysis.winners.itertuples()
        )
        for row in report.scores[name].itertuples():
            print(
                f"  explainability score {method_label(row.method)}: {row.score:.1f} with human preference {row.human_preference:.2f} "
                f"({row.score_without_people:.1f} without)"
            )
        kappa = analysis.agreement["kappa"]
        print(f"  questions won: {winners or 'none'}; Fleiss' kappa {'n/a' if kappa != kappa else f'{kappa:.3f}'}")
        for row in report.word_roles[name].itertuples():
            print(
                f"  {row.role} words ({row.questions} questions): {method_label(row.method_a)} {row.votes_a} / "
                f"{method_label(row.method_b)} {row.votes_b} / {row.equal} equal"
            )
    print(f"\nwrote {len(written)} files to {args.out}")
    return 0


def _with_database(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument(
        "--database",
        default=None,
        help=f"SQLAlchemy URL (default ${DATABASE_URL_VARIABLE}, else SQLite at $XAI_STUDIO_DATA_DIR/surveys.sqlite, default data/)",
    )
    return parser


def _with_creation_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-url",
        default=None,
        help="the app's public URL for the share link (default $XAI_STUDIO_PUBLIC_URL, else http://localhost:8501)",
    )
    parser.add_argument("--quiet", action="store_true")


def _register_survey_demo(commands: argparse._SubParsersAction) -> None:
    demo = _with_database(
        commands.add_parser(
            "survey-demo", help="create and open the demo survey: LSFT-GAN vs Grad-CAM on 20 MNIST test images, 2 attention checks"
        )
    )
    _with_creation_output(demo)
    demo.set_defaults(handler=_cmd_survey_demo)


def _register_survey_create(commands: argparse._SubParsersAction) -> None:
    create = _with_database(commands.add_parser("survey-create", help="create a comprehensibility survey (a draft unless --open)"))
    create.add_argument("--title", default="Which explanation is easier to understand?")
    create.add_argument(
        "--task",
        default="classification",
        choices=TASKS,
        help="captioning: each question explains one word of a captioner's caption of a captioning test scene",
    )
    create.add_argument(
        "--model",
        default=None,
        help=f"the classifier (default {DEMO_DESIGN.model_id}) or, for captioning, "
        f"the captioner (default {TASK_DESIGNS['captioning'].model_id})",
    )
    create.add_argument(
        "--dataset",
        default=None,
        help=f"images: a class-balanced sample of this dataset, e.g. folder:/path/to/photos (unlabelled folders too: "
        f"maps explain the prediction; default {DEMO_DESIGN.dataset}; captioning: {TASK_DESIGNS['captioning'].dataset})",
    )
    create.add_argument("--split", default="test", choices=["train", "test"])
    create.add_argument("--images", nargs="+", type=Path, default=None, help="image files or folders instead of a dataset")
    create.add_argument(
        "--methods",
        nargs="+",
        default=None,
        metavar="METHOD",
        help=f"two or more of {', '.join(EXPLAINERS)} (or lsft|gsft-<strategy>); captioning: of "
        f"{', '.join(CAPTION_METHODS)} (default {' '.join(DEMO_DESIGN.methods)})",
    )
    create.add_argument("--questions", type=int, default=None, help="default 20; captioning 10")
    create.add_argument("--seed", type=int, default=0)
    create.add_argument("--attention-checks", type=int, default=2)
    create.add_argument("--attention-kinds", nargs="+", default=list(ATTENTION_KINDS), choices=list(ATTENTION_KINDS))
    create.add_argument("--no-shuffle", action="store_true", help="every respondent sees the questions in design order")
    create.add_argument("--consent-file", type=Path, default=None, help="consent text (Markdown; default: the task's generic one)")
    create.add_argument("--instructions-file", type=Path, default=None, help="instructions (Markdown)")
    create.add_argument("--open", action="store_true", help="open the survey at once")
    _with_creation_output(create)
    create.set_defaults(handler=_cmd_survey_create)


def _register_survey_management(commands: argparse._SubParsersAction) -> None:
    listing = _with_database(commands.add_parser("surveys", help="list surveys with their progress"))
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=_cmd_surveys)

    status = _with_database(commands.add_parser("survey-status", help="open or close a survey"))
    status.add_argument("code")
    status.add_argument("status", choices=["open", "closed"])
    status.set_defaults(handler=_cmd_survey_status)

    report = _with_database(
        commands.add_parser(
            "survey-report",
            help="analyse a survey: responses.csv, analysis.json (all respondents and without failed attention "
            "checks) and HTML charts; prints the preference, binomial test and questions won",
        )
    )
    report.add_argument("code")
    report.add_argument("--out", required=True, help="output directory")
    report.set_defaults(handler=_cmd_survey_report)


def register(commands: argparse._SubParsersAction) -> None:
    """survey-demo, survey-create, surveys, survey-status, survey-report."""
    _register_survey_demo(commands)
    _register_survey_create(commands)
    _register_survey_management(commands)
