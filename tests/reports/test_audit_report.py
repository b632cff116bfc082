"""The HTML audit report: every section for a bundle and for an evaluation run, escaping, embedded images and
plotly.js, the run-directory checks, and the ``audit-report`` command."""

import base64
import json
import os
import re

import pytest
import torch
from plotly.offline import get_plotlyjs

from tests.conftest import train_tiny_gan
from xai_core.cli import main
from xai_core.generative import dcgan
from xai_core.metrics.suite import run_evaluation
from xai_core.models import model_info
from xai_core.reports.audit_report import list_evaluation_runs, load_evaluation_run, render_audit_report, write_audit_report
from xai_core.reports.bundle import ExplanationBundle
from xai_core.reports.charts import top_k_figure
from xai_core.reports.evaluation_report import write_evaluation

MALICIOUS = '<script>alert("owned")</script>'
PLOTLY_MARK = get_plotlyjs()[:200]
BUNDLE_SECTIONS = ("images", "maps", "scores", "concepts", "latent", "charts", "provenance")
GAN_ID = "test-report-cdcgan"


def _images(html: str) -> list[bytes]:
    """The decoded PNG of every <img> in the report (all must be embedded data URIs)."""
    sources = re.findall(r'<img src="([^"]*)"', html)
    assert len(sources) == html.count("<img ")
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    return [base64.b64decode(s.partition(",")[2]) for s in sources]


def _hand_bundle(title: str = MALICIOUS) -> ExplanationBundle:
    """A bundle built by hand: an image and a generated image, 2 + 1 maps, scores, concepts, latent shares, a chart."""
    bundle = ExplanationBundle(title=title, classes=["zero", "one"], map_size=(4, 4))
    bundle.set_image("original", torch.linspace(0, 1, 64).reshape(1, 8, 8), caption=f"upload {MALICIOUS}.png")
    bundle.set_image("generated", torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(0)), caption="cdcgan sample")
    bundle.latent, bundle.generated_label = torch.tensor([0.5, -1.0, 2.0]), 1
    bundle.add_map("grad_cam", torch.arange(16.0).reshape(4, 4))
    bundle.add_map("<b>custom</b>", torch.eye(4))
    bundle.add_map("grad_cam", torch.ones(4, 4), subject="generated")
    bundle.add_not_applicable("guided_backprop", "the model has <no> ReLU")
    bundle.predictions = {"original": [{"label": 1, "name": "one", "probability": 0.75}, {"label": 0, "name": "zero", "probability": 0.25}]}
    bundle.targets = {"original": 1, "generated": 1}
    bundle.add_scores({"average_drop": 12.5, "deletion_auc": 0.125, "dice": 0.5}, method="grad_cam")
    bundle.add_score("my_metric", 0.25, f"label {MALICIOUS}", "custom", True, method="grad_cam", subject="generated")
    bundle.add_concept_scores({"<img src=x onerror=alert(1)>": 0.9, "slanted": 0.4}, [0.5, 0.5], {"slanted": 0.3}, "features.3", "one")
    bundle.set_latent_sensitivity(torch.tensor([1.0, 3.0, 4.0]), torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1)), top=2)
    bundle.add_chart("Top predictions", top_k_figure([]))
    bundle.provenance = {"model": {"id": "vgg-mnist", "sha256": "ab" * 32}, "data": {"source": MALICIOUS}, "seed": 0}
    return bundle


def test_a_bundle_report_has_every_section_embedded_and_escaped():
    html = render_audit_report(_hand_bundle())
    assert html.startswith("<!DOCTYPE html>") and html.count("<html") == 1 and html.rstrip().endswith("</html>")
    for section in BUNDLE_SECTIONS:
        assert f'id="bundle-1-{section}"' in html and f'href="#bundle-1-{section}"' in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>custom</b>" not in html and "<no>" not in html
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&lt;b&gt;custom&lt;/b&gt;" in html
    assert html.count(MALICIOUS) == 0

    pictures = _images(html)  # 2 images + 3 maps + 2 latent pixel maps
    assert len(pictures) == 7 and all(p.startswith(b"\x89PNG\r\n\x1a\n") for p in pictures)
    assert html.count(PLOTLY_MARK) == 1 and html.count("Plotly.newPlot(") == 4  # predictions, concepts, latent, the free chart
    assert "Original image: top predictions (explained class in green)" in html
    assert "<script src=" not in html and 'src="http' not in html  # nothing is fetched

    scores = html[html.index('id="bundle-1-scores"') : html.index('id="bundle-1-concepts"')]
    assert '<td>Grad-CAM</td><td>Average drop</td><td>faithfulness</td><td class="number">12.50 %</td><td>↓ lower is better</td>' in scores
    assert '<td>Dice vs reference</td><td>agreement</td><td class="number">0.5</td><td>↑ higher is better</td>' in scores
    latent = html[html.index('id="bundle-1-latent"') : html.index('id="bundle-1-charts"')]
    assert "z2: rank 1, 50.0%" in latent and "z1: rank 2, 37.5%" in latent
    assert "Guided Backprop: not applicable (the model has &lt;no&gt; ReLU)" in html
    assert "ab" * 32 in html[html.index('id="bundle-1-provenance"') :]
    assert "[0.5000, -1.0000, 2.0000]" in html  # the latent code


def test_a_report_without_charts_carries_no_plotly_and_says_what_is_missing(tmp_path):
    bundle = ExplanationBundle(title="plain")
    bundle.set_image("original", torch.zeros(1, 4, 4))
    path = write_audit_report([bundle, _hand_bundle("second")], tmp_path / "two.html")
    both = path.read_text()
    assert 'id="bundle-1-images"' in both and 'id="bundle-2-provenance"' in both and both.count(PLOTLY_MARK) == 1
    alone = render_audit_report(bundle)
    assert PLOTLY_MARK not in alone and "Plotly.newPlot" not in alone
    assert "No explanation maps in this bundle." in alone and "No concept (TCAV) scores in this bundle." in alone
    assert "No GAN sample in this bundle, so no latent sensitivities." in alone
    with pytest.raises(ValueError, match="at least one bundle"):
        render_audit_report([])
    with pytest.raises(TypeError):
        render_audit_report([object()])


@pytest.fixture(scope="module")
def evaluation_run(tmp_path_factory, one_torch_thread):
    directory = tmp_path_factory.mktemp("runs") / "<script>run"
    result = run_evaluation(["vgg-mnist"], ["grad_cam", "saliency"], ["average_drop", "deletion_auc"], n=2, seeds=[0])
    write_evaluation(result, directory)
    return directory, result


def test_a_run_report_has_its_configuration_scores_charts_and_provenance(evaluation_run):
    directory, result = evaluation_run
    html = render_audit_report(directory)
    for section in ("configuration", "scores", "charts", "provenance"):
        assert f'id="run-{section}"' in html
    assert "<script>run" not in html and "&lt;script&gt;run" in html
    for row in result.summary():
        unit_value = f"{row['mean']:.2f} %" if row["metric"] == "average_drop" else f"{row['mean']:.4g}"
        assert unit_value in html
    assert "↓ lower is better" in html and html.count("Plotly.newPlot(") == 2 and html.count(PLOTLY_MARK) == 1
    provenance = html[html.index('id="run-provenance"') :]
    assert model_info("vgg-mnist")["sha256"] in provenance
    run = load_evaluation_run(directory)
    assert run.file_sha256["results.json"] in provenance and result.config["key"] in provenance
    assert run.rows == len(result.rows) == 8


def test_a_directory_that_is_not_a_finished_run_is_refused_with_a_reason(tmp_path, evaluation_run):
    with pytest.raises(ValueError, match="is not a directory"):
        load_evaluation_run(tmp_path / "missing")
    with pytest.raises(ValueError, match="results.json, summary.csv missing"):
        load_evaluation_run(tmp_path)
    (tmp_path / "summary.csv").write_text("pair,method\n")
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_evaluation_run(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"config": {}, "summary": []}))
    with pytest.raises(ValueError, match="summary.csv has columns"):
        load_evaluation_run(tmp_path)
    (tmp_path / "results.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="no config and summary"):
        load_evaluation_run(tmp_path)


def test_runs_are_listed_newest_first(tmp_path, evaluation_run):
    source, _ = evaluation_run
    for name, modified in (("old", 1_000_000), ("new", 2_000_000)):
        (tmp_path / name).mkdir()
        for file in ("results.json", "summary.csv"):
            (tmp_path / name / file).write_bytes((source / file).read_bytes())
        os.utime(tmp_path / name / "results.json", (modified, modified))
    (tmp_path / "unfinished").mkdir()
    assert list_evaluation_runs(tmp_path) == [tmp_path / "new", tmp_path / "old"]
    assert list_evaluation_runs(tmp_path / "nothing-here") == []


@pytest.fixture(scope="module")
def tiny_gan(tmp_path_factory, one_torch_thread):
    directory = tmp_path_factory.mktemp("gan")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XAI_STUDIO_CHECKPOINT_DIRS", str(directory))
        dcgan.load_gan.cache_clear()
        entry = train_tiny_gan(directory, GAN_ID)
    dcgan.load_gan.cache_clear()
    return directory, entry


def test_the_cli_writes_a_report_for_an_image_and_a_gan_sample(tmp_path, tiny_gan, cli):
    gan_dir, entry = tiny_gan
    out, bundle_json = tmp_path / "report.html", tmp_path / "bundle.json"
    try:
        result = cli(
            "audit-report",
            "--model",
            "vgg-mnist",
            "--dataset",
            "mnist",
            "--index",
            "3",
            "--methods",
            "grad_cam,saliency",
            "--gan",
            GAN_ID,
            "--gan-seed",
            "0",
            "--label",
            "3",
            "--out",
            str(out),
            "--json",
            str(bundle_json),
            "--quiet",
            env={"XAI_STUDIO_CHECKPOINT_DIRS": str(gan_dir)},
        )
    finally:
        dcgan.load_gan.cache_clear()
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["model_sha256"] == model_info("vgg-mnist")["sha256"] and summary["gan_sha256"] == entry["sha256"]
    assert summary["maps"] == {"original": ["grad_cam", "saliency"], "generated": ["grad_cam", "saliency"]}
    assert summary["targets"]["generated"] == 3 and len(summary["most_sensitive_dimensions"]) == 5
    html = out.read_text()
    assert model_info("vgg-mnist")["sha256"] in html and entry["sha256"] in html and len(_images(html)) == 2 + 4 + 4
    bundle = ExplanationBundle.from_json(bundle_json.read_text())
    assert bundle.provenance["command"].startswith("python -m xai_core audit-report --model vgg-mnist")
    assert bundle.provenance["data"]["index"] == 3 and bundle.generated_label == 3


def test_the_cli_reports_on_a_run_and_says_what_is_wrong(tmp_path, evaluation_run, capsys):
    directory, _ = evaluation_run
    assert main(["audit-report", "--run", str(directory), "--out", str(tmp_path / "run.html")]) == 0
    assert json.loads(capsys.readouterr().out)["report"] == str(tmp_path / "run.html")
    assert 'id="run-scores"' in (tmp_path / "run.html").read_text()
    for args, message in (
        (["--run", str(tmp_path)], "not a finished evaluation run"),
        (["--run", str(directory), "--model", "vgg-mnist"], "drop --model and --gan"),
        ([], "give --model"),
        (["--model", "vgg-mnist"], "nothing to report on"),
        (["--model", "vgg-mnist", "--dataset", "mnist", "--label", "3"], "give --gan too"),
        (["--model", "vgg-mnist", "--dataset", "mnist", "--methods", "grad_cam,nope"], "unknown method(s) nope"),
    ):
        assert main(["audit-report", *args, "--out", str(tmp_path / "x.html"), "--quiet"]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "x.html").exists()
