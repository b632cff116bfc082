"""Bad parameters (issue 8, item 7): out-of-range classes, eta below 1 and empty or odd dataset folders get a
message saying what is wrong, from the API, the CLI and the pages; never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from xai_core import EXPLAINERS, DatasetUnavailable, cumulative_gradcam_averages, explain, layer_positions, load_dataset, load_model
from xai_core.attribution import DEFAULT_ETA
from xai_core.cli import main
from xai_core.sftgan.networks import SFTGenerator

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture(scope="module")
def digit() -> torch.Tensor:
    return load_dataset("mnist", "test")[0][0]


@pytest.mark.parametrize("method", list(EXPLAINERS))
@pytest.mark.parametrize("target", [10, 99, -1])
def test_api_explain_refuses_a_class_the_model_does_not_have(method, target, digit):
    with pytest.raises(ValueError, match=rf"target class must be in 0\.\.9, got \[{target}\]"):
        explain(load_model("vgg-mnist"), digit, [method], target=target)


@pytest.mark.parametrize("eta", [0, -1, -8])
def test_eta_below_one_is_refused_everywhere(eta):
    with pytest.raises(ValueError, match=f"eta must be at least 1, got {eta}"):
        layer_positions(13, eta)
    with pytest.raises(ValueError, match=f"eta must be at least 1, got {eta}"):
        cumulative_gradcam_averages(torch.rand(1, 13, 4, 4), eta)
    with pytest.raises(ValueError, match=rf"eta \(the number of CGMAs\) must be at least 1, got {eta}"):
        SFTGenerator("lsft", eta)
    with pytest.raises(ValueError, match="need at least one layer"):
        layer_positions(0, DEFAULT_ETA)


def _single_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "command,message",
    [
        (["explain", "--model", "vgg-mnist", "--dataset", "mnist", "--methods", "grad_cam", "--target", "99"], "--target must be in 0..9"),
        (["explain", "--model", "vgg-mnist", "--dataset", "mnist", "--methods", "grad_cam", "--target", "-1"], "--target must be in 0..9"),
        (["relevance", "--model", "vgg-mnist", "--dataset", "mnist", "--target", "99"], "target class must be in 0..9, got [99]"),
        (["predict", "--model", "vgg-mnist", "--dataset", "mnist", "--index", "99999"], "--index must be in 0..999"),
        (["predict", "--model", "vgg-mnist", "--dataset", "mnist", "--top", "0"], "--top must be at least 1"),
        (["predict", "--model", "no-such-model", "--dataset", "mnist"], "unknown model 'no-such-model'"),
        (["tcav", "--model", "vgg-mnist", "--concepts", "thick strokes", "--target", "99", "--out", "unused"], "unknown class '99'"),
    ],
    ids=[
        "explain-target-99",
        "explain-target-negative",
        "relevance-target-99",
        "predict-index",
        "predict-top",
        "unknown-model",
        "tcav-target",
    ],
)
def test_cli_out_of_range_values_exit_2_with_one_error_line(command, message, capsys, tmp_path):
    out = ["--out", str(tmp_path / "out")] if command[0] == "explain" else []
    assert main(command + out) == 2
    assert message in _single_error_line(capsys)


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "--model", "vgg-mnist", "--dataset", "mnist", "--layers", "--out", "unused"],
        ["train-sftgan", "--kind", "lsft", "--strategy", "objects"],
    ],
    ids=["explain", "train-sftgan"],
)
@pytest.mark.parametrize("eta", ["0", "-2", "eight"])
def test_cli_eta_is_checked_before_any_work(command, eta, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(command + ["--eta", eta])
    assert stopped.value.code == 2
    expected = f"must be at least 1, got {eta}" if eta != "eight" else "eta must be a whole number, got 'eight'"
    assert expected in capsys.readouterr().err.strip().splitlines()[-1]


def _write_image(path: Path, value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (8, 8), value).save(path)


@pytest.fixture
def folders(tmp_path) -> dict[str, Path]:
    """Dataset folders that are empty, imageless, unreadable, too small to split, or of one class."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "no-images" / "cats").mkdir(parents=True)
    (tmp_path / "no-images" / "cats" / "notes.txt").write_text("not a picture")
    (tmp_path / "unreadable" / "cats").mkdir(parents=True)
    (tmp_path / "unreadable" / "cats" / "fake.png").write_bytes(b"<html>not a png</html>")
    for class_name in ("cats", "dogs"):
        _write_image(tmp_path / "one-each" / class_name / "0.png")
    for index in range(5):
        _write_image(tmp_path / "one-class" / "cats" / f"{index}.png", 40 * index)
    return {path.name: path for path in tmp_path.iterdir()} | {"missing": tmp_path / "missing"}


@pytest.mark.parametrize(
    "name,message",
    [
        ("missing", "does not exist"),
        ("empty", "has no class sub-folders"),
        ("no-images", "No readable images under .*; accepted: png, jpg"),
        ("unreadable", r"No readable images under .* \(1 unreadable, e\.g\. .*fake\.png: This file is not an image"),
    ],
    ids=["missing", "empty", "no-images", "unreadable"],
)
def test_unusable_folders_say_what_is_wrong(folders, name, message, capsys):
    with pytest.raises(DatasetUnavailable, match=message):
        load_dataset(f"folder:{folders[name]}", "train")
    assert main(["predict", "--model", "vgg-mnist", "--dataset", f"folder:{folders[name]}"]) == 2
    _single_error_line(capsys)


def test_a_folder_too_small_for_a_test_split_says_how_to_fix_it(folders, capsys):
    assert len(load_dataset(f"folder:{folders['one-each']}", "train")) == 2
    with pytest.raises(DatasetUnavailable, match="The test split of .* is empty: with 2 images, .* at least 3 images"):
        load_dataset(f"folder:{folders['one-each']}", "test")
    assert main(["predict", "--model", "vgg-mnist", "--dataset", f"folder:{folders['one-each']}"]) == 2
    assert "test split" in _single_error_line(capsys)


def test_a_one_class_folder_can_still_be_predicted(folders, capsys):
    """One class is a valid set of images to explain (a model trained elsewhere predicts them)."""
    test = load_dataset(f"folder:{folders['one-class']}", "test")
    assert test.classes == ["cats"] and len(test) == 1
    assert main(["predict", "--model", "vgg-mnist", "--dataset", f"folder:{folders['one-class']}"]) == 0
    assert '"true_class": "cats"' in capsys.readouterr().out


def test_training_on_a_one_class_folder_is_refused(folders, tmp_path, capsys):
    assert (
        main(
            [
                "train-cnn",
                "--dataset",
                f"folder:{folders['one-class']}",
                "--arch",
                "vgg",
                "--epochs",
                "1",
                "--out",
                str(tmp_path / "checkpoints"),
                "--quiet",
            ]
        )
        == 2
    )
    assert "a classifier needs at least two" in _single_error_line(capsys)
    assert not (tmp_path / "checkpoints").exists()


def _open_with_state(page: str, state: dict) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120).run()
    for key, value in state.items():
        app.session_state[key] = value
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


@pytest.mark.parametrize("requested,used", [(0, 1), (-3, 1), (99, 32), ("8", DEFAULT_ETA)])
def test_layers_page_replaces_an_out_of_range_eta_and_says_so(requested, used):
    app = _open_with_state("pages/layers.py", {keys.ETA: requested})
    assert [w.value for w in app.warning] == [
        f"eta (the number of CGMAs) must be a whole number from 1 to 32; {requested!r} was replaced by {used}."
    ]
    assert app.number_input(key=keys.ETA).value == used
    assert app.subheader[-1].value == f"The {min(used, 7)} CGMAs"  # vgg-mnist has 7 conv layers


@pytest.mark.parametrize("page", ["pages/explain.py", "pages/layers.py"])
def test_a_target_class_the_model_does_not_have_is_replaced_by_the_prediction(page):
    app = _open_with_state(page, {f"{keys.TARGET}:vgg-mnist": 99})
    assert [w.value for w in app.warning] == ["vgg-mnist has no class 99 (its classes are 0-9); explaining the predicted class instead."]
    assert app.session_state[f"{keys.TARGET}:vgg-mnist"] == -1
    app.run()
    assert not app.warning
