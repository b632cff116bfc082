"""The command line of ``python -m xai_core``: :func:`main` runs it, :func:`build_parser` builds its parser."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
