"""Command line: ``python -m xai_core <command> ...`` (``--help`` lists the commands).

Each command group is a module of this package whose ``register(commands)`` adds its sub-commands,
each with a ``handler`` default that runs it.
"""

from __future__ import annotations

import argparse
import sys

from ..data import DatasetUnavailable, ImageDecodeError
from ..models import CheckpointError
from ..survey.repository import SurveyError
from . import captioning, concepts, data_models, evaluate, explain, jobs, survey, training, user_models

COMMAND_GROUPS = (data_models, user_models, training, explain, evaluate, concepts, survey, jobs, captioning)
USER_ERRORS = (DatasetUnavailable, ImageDecodeError, CheckpointError, SurveyError, KeyError, ValueError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m xai_core", description="XAI Studio engine: datasets, models, training, prediction, explanation."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return args.handler(args)
    except USER_ERRORS as error:
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
