"""The example inputs in assets/ decode through the safe path and are recognised by their models."""

from pathlib import Path

import pytest

from xai_core import load_model
from xai_core.data import pil_to_tensor, read_image_file

EXAMPLES = Path(__file__).resolve().parents[1] / "assets" / "examples"


@pytest.mark.parametrize(
    "file,model_id,expected",
    [
        ("mnist-7.png", "vgg-mnist", "7"),
        ("shapes-star.png", "resnet-shapes", "star"),
        ("chelsea-cat.jpg", "efficientnet_lite0-imagenet", "Egyptian cat"),
    ],
)
def test_examples_are_recognised(file, model_id, expected):
    image = pil_to_tensor(read_image_file(EXAMPLES / file))
    assert load_model(model_id).predict(image, k=1)[0].name == expected
