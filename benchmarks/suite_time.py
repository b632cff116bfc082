"""The size and time of the test suite, from the JUnit report of the last `make test` (runs/suite/last-make-test.xml):
printed, or with --write put between the suite markers of README.md. Nothing in it is typed by hand."""

from __future__ import annotations

import argparse
import os
import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "runs" / "suite" / "last-make-test.xml"
README = ROOT / "README.md"
START, END = "<!-- suite:start -->", "<!-- suite:end -->"
TARGET_MINUTES = 20


def suite_figures(report: Path = REPORT) -> dict:
    """Tests, failures, errors, skipped, seconds and start time of the run a JUnit report records."""
    suite = ElementTree.parse(report).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    return {
        "tests": int(suite.get("tests")),
        "failures": int(suite.get("failures")),
        "errors": int(suite.get("errors")),
        "skipped": int(suite.get("skipped")),
        "seconds": float(suite.get("time")),
        "started": suite.get("timestamp", ""),
    }


def sentence(figures: dict, cores: int) -> str:
    minutes, seconds = divmod(round(figures["seconds"]), 60)
    failed = figures["failures"] + figures["errors"]
    started = datetime.fromisoformat(figures["started"]).astimezone(UTC).strftime("%Y-%m-%d") if figures["started"] else "?"
    verdict = "within" if figures["seconds"] <= TARGET_MINUTES * 60 else "over"
    return (
        f"The last `make test` recorded here ({started}, {cores} cores) ran {figures['tests']} tests: "
        f"{figures['tests'] - figures['skipped'] - failed} passed, {figures['skipped']} skipped, {failed} failed; pytest took "
        f"{minutes} min {seconds} s, {verdict} the {TARGET_MINUTES}-minute target. Written by `python benchmarks/suite_time.py --write` "
        "from that run's JUnit report."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", action="store_true", help="put the sentence between the suite markers of README.md")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    if not args.report.is_file():
        raise SystemExit(f"no JUnit report at {args.report}: run `make test` first")
    text = sentence(suite_figures(args.report), os.cpu_count() or 0)
    print(text)
    if args.write:
        readme = README.read_text()
        if START not in readme:
            raise SystemExit(f"README.md has no {START} ... {END} markers")
        README.write_text(re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: f"{START}\n{text}\n{END}", readme, flags=re.S))


if __name__ == "__main__":
    main()
