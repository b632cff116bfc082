"""docs/results.md is checkable from a clean clone: it re-renders exactly from the committed summaries
(``report-results --check``), a changed summary shows up as a difference, and a pinned subset of the runs
reproduces the summaries within the stated tolerance (``report-results --rerun --quick``)."""

import csv
import io
import shutil

import pytest

from xai_core.captioning.results import results_document
from xai_core.cli import evaluate as evaluate_cli
from xai_core.cli.main import main
from xai_core.reports import reproduce
from xai_core.reports.results import RESULTS_PATH, check_document
from xai_core.reports.summaries import DATA_DIR, SEED_COLUMNS, evaluation_paths, read_evaluation_summary


def test_results_md_follows_from_the_committed_summaries(capsys):
    assert main(["report-results", "--check"]) == 0, capsys.readouterr().out
    assert "follows from the committed summaries" in capsys.readouterr().out


def _tampered_copy(tmp_path, experiment: str, change) -> tuple:
    """A copy of docs/data whose ``experiment`` summary has ``change(row)`` applied to its first Dice row."""
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    table, _ = evaluation_paths(experiment, data)
    rows = list(csv.DictReader(io.StringIO(table.read_text())))
    target = next(r for r in rows if r["metric"] == "dice" and r["method"] == "lsft" and r["seed"] == "0")
    change(target)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(SEED_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    table.write_text(out.getvalue())
    return data, target


def test_a_changed_summary_is_a_difference_in_the_rendered_document(tmp_path):
    data, target = _tampered_copy(tmp_path, "symbols", lambda r: r.update(value=repr(float(r["value"]) - 0.3)))
    differences = check_document(results_document(data), RESULTS_PATH)
    added = [line[1:] for line in differences if line.startswith("+|")]
    # Table 2: the pair's LSFT cell and the average under it, nothing else in a table
    assert [line.split(" | ")[0] for line in added] == [f"| `{target['pair']}`", "| **average**"]
    assert any(line.startswith("+Our LSFT average") for line in differences)  # and the verdict under it


def test_a_missing_summary_is_said_not_invented(tmp_path):
    document = results_document(tmp_path / "empty")
    assert "Not recorded yet" in document and "report-results --evaluation-only" in document
    assert "`python -m xai_core report-results --gan-only`" in document and "captioning-results --write" in document


@pytest.fixture(scope="module")
def reruns(one_torch_thread):
    return reproduce.quick_rerun()


def test_a_rerun_of_the_pinned_subset_reproduces_the_summaries(reruns, monkeypatch, capsys):
    assert set(reruns) == set(reproduce.QUICK_SUBSET)
    comparisons = reproduce.compare(reruns)
    assert len(comparisons) == sum(len(rows) for rows in reruns.values()) > 100
    assert all(c.passed for c in comparisons), reproduce.comparison_lines(comparisons)
    monkeypatch.setattr(evaluate_cli, "quick_rerun", lambda on_progress=None: reruns)  # the command's own path, not rerun twice
    assert main(["report-results", "--rerun", "--quick", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"{len(comparisons)} of {len(comparisons)} per-seed means reproduce within tolerance" in out and "DIFFERS" not in out


def test_the_quick_rerun_fails_on_a_summary_the_code_does_not_reproduce(reruns, tmp_path):
    data, target = _tampered_copy(tmp_path, "symbols", lambda r: r.update(value=repr(float(r["value"]) + 0.05)))
    assert target["pair"] == "vgg-mnist@mnist"  # the first LSFT Dice row is in the pinned subset
    comparisons = reproduce.compare(reruns, data)
    failed = [c for c in comparisons if not c.passed]
    assert [(c.pair, c.method, c.metric) for c in failed] == [("vgg-mnist@mnist", "lsft", "dice")]
    assert failed[0].tolerance == pytest.approx(2 / 64)  # two of the run's 64 images
    assert reproduce.comparison_lines(comparisons)[0].startswith("DIFFERS symbols vgg-mnist@mnist lsft dice -: recorded")


def test_quick_needs_rerun(capsys):
    assert main(["report-results", "--quick"]) == 2
    assert "use it with --rerun" in capsys.readouterr().err


def test_tolerances_follow_the_metric_range_and_image_count():
    assert reproduce.tolerance("average_drop", 64) == pytest.approx(200 / 64)
    assert reproduce.tolerance("average_increase", 50) == pytest.approx(4.0)
    assert reproduce.tolerance("noise_background_error", 16) == pytest.approx(0.125)


def test_summaries_round_trip_per_seed_rows_in_the_run_order():
    result, generators = read_evaluation_summary("symbols")
    assert result.config["pairs"][0] == result.rows[0]["pair"]
    assert {"lsft-symbols", "gsft-symbols"} <= set(generators)
    levels = [r["level"] for r in result.rows if r["metric"] == "noise_background_error" and r["method"] == "lsft" and r["seed"] == 0]
    assert levels[: len(result.config["settings"]["noise_levels"])] == [str(level) for level in result.config["settings"]["noise_levels"]]
