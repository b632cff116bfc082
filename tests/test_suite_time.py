"""README's suite sentence is written from the JUnit report of `make test` (benchmarks/suite_time.py), not typed."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("suite_time", ROOT / "benchmarks" / "suite_time.py")
suite_time = importlib.util.module_from_spec(spec)
spec.loader.exec_module(suite_time)

REPORT = """<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="2" skipped="7"
 tests="1000" time="1261.5" timestamp="2026-12-05T09:00:00.000000+00:00" hostname="h"></testsuite></testsuites>"""


def test_the_sentence_follows_the_junit_report(tmp_path):
    report = tmp_path / "run.xml"
    report.write_text(REPORT)
    figures = suite_time.suite_figures(report)
    assert figures == {
        "tests": 1000,
        "failures": 2,
        "errors": 1,
        "skipped": 7,
        "seconds": 1261.5,
        "started": "2026-12-05T09:00:00.000000+00:00",
    }
    text = suite_time.sentence(figures, 2)
    assert text.startswith("The last `make test` recorded here (2026-12-05, 2 cores) ran 1000 tests: 990 passed, 7 skipped, 3 failed;")
    assert "pytest took 21 min 2 s, over the 20-minute target." in text  # 1261.5 s rounds to 1262 s


def test_readme_carries_the_markers_the_command_writes_between():
    readme = (ROOT / "README.md").read_text()
    assert readme.count(suite_time.START) == 1 and readme.index(suite_time.START) < readme.index(suite_time.END)
