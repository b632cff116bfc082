"""The public API, including the example in the README, runs as documented."""

import re
from pathlib import Path

import xai_core

README = Path(__file__).resolve().parents[1] / "README.md"


def test_public_names():
    assert {"list_datasets", "load_dataset", "list_models", "load_model", "register_model", "ModelCard"} <= set(xai_core.__all__)
    assert {"mnist", "glyphs", "shapes", "shapes_biased", "photos", "lfw_subset"} <= set(xai_core.list_datasets())
    assert "vgg-mnist" in xai_core.list_models()


def test_readme_python_example_runs(capsys):
    example = re.search(r"## Python API\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    exec(compile(example, "README.md", "exec"), {})
    printed = capsys.readouterr().out.split()
    assert printed[0] == printed[-1]  # predicted name == true class for the first MNIST test digit
    assert float(printed[1]) > 0.5


def test_model_card_contract():
    card = xai_core.load_model("vgg-mnist")
    assert card.id == "vgg-mnist" and card.input_size == (32, 32) and len(card.classes) == 10
    image, _, _ = xai_core.load_dataset("mnist")[0]
    assert card.preprocess(image).shape == (1, 1, 32, 32)
    assert not card.model.training
