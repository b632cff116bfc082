"""One current image per session (issue 21): an upload given on one page is the image of every page until another
is chosen; several uploads make a gallery to switch between; switching model keeps the upload; the sidebar shows a
thumbnail of the current image with its source."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from pages.common.image_input import GALLERY_SIZE
from xai_core import load_dataset

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PAGES = ("pages/explain.py", "pages/sftgan.py", "pages/layers.py", "pages/explore.py")


def _digit_png(index: int) -> tuple[bytes, int]:
    image, label, _ = load_dataset("mnist", "test")[index]
    buffer = io.BytesIO()
    Image.fromarray((image[0].numpy() * 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue(), label


def _upload(app: AppTest, name: str, data: bytes) -> None:
    app.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    app.file_uploader(key=keys.UPLOAD).upload(name, data, "image/png").run()
    assert not app.exception, [e.message for e in app.exception]


def _thumbnail_caption(app: AppTest) -> str:
    return next(caption for image in app.sidebar.get("image") for caption in image.captions if caption.startswith("Current image"))


@pytest.fixture
def explore() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=300).run()
    app.switch_page("pages/explore.py").run()
    return app


def test_an_upload_on_explore_is_the_image_of_every_page_without_uploading_again(explore):
    data, label = _digit_png(5)
    _upload(explore, "five.png", data)
    assert f"**Predicted:** {label} (" in "\n".join(m.value for m in explore.markdown)
    assert _thumbnail_caption(explore) == "Current image: upload: five.png (28x28, L)"
    for page in PAGES:
        explore.switch_page(page).run()
        assert not explore.exception, (page, [e.message for e in explore.exception])
        assert explore.radio(key=keys.IMAGE_SOURCE).value == keys.SOURCE_UPLOAD, page
        assert not explore.info or all("Upload a PNG" not in i.value for i in explore.info), page
        assert _thumbnail_caption(explore) == "Current image: upload: five.png (28x28, L)", page


def test_switching_the_model_keeps_the_upload(explore):
    data, _ = _digit_png(5)
    _upload(explore, "five.png", data)
    explore.selectbox(key=keys.MODEL_ID).select("resnet-mnist").run()
    assert not explore.exception
    assert _thumbnail_caption(explore) == "Current image: upload: five.png (28x28, L)"


def test_several_uploads_form_a_gallery_whose_choice_follows_the_user(explore):
    (five, _), (seven, seven_label) = _digit_png(5), _digit_png(0)
    _upload(explore, "five.png", five)
    explore.file_uploader(key=keys.UPLOAD).upload("seven.png", seven, "image/png").run()
    gallery = explore.selectbox(key=keys.GALLERY_CURRENT)
    assert gallery.options == ["five.png (28x28, L)", "seven.png (28x28, L)"]
    assert _thumbnail_caption(explore).endswith("seven.png (28x28, L)")  # the newest upload is current
    assert f"**Predicted:** {seven_label} (" in "\n".join(m.value for m in explore.markdown)
    first = next(iter(explore.session_state[keys.GALLERY]))
    gallery.select_index(0).run()
    assert _thumbnail_caption(explore).endswith("five.png (28x28, L)")
    explore.switch_page("pages/explain.py").run()
    assert not explore.exception and _thumbnail_caption(explore).endswith("five.png (28x28, L)")
    assert explore.selectbox(key=keys.GALLERY_CURRENT).value == first


def test_a_bad_upload_keeps_the_current_image_and_says_why(explore):
    data, label = _digit_png(5)
    _upload(explore, "five.png", data)
    explore.file_uploader(key=keys.UPLOAD).upload("fake.png", b"this is not an image", "image/png").run()
    assert not explore.exception
    assert "Cannot use fake.png" in explore.error[0].value
    assert _thumbnail_caption(explore).endswith("five.png (28x28, L)")
    assert f"**Predicted:** {label} (" in "\n".join(m.value for m in explore.markdown)


def test_the_gallery_keeps_the_last_uploads_only(explore):
    _upload(explore, "0.png", _digit_png(0)[0])
    for index in range(1, GALLERY_SIZE + 2):
        explore.file_uploader(key=keys.UPLOAD).upload(f"{index}.png", _digit_png(index)[0], "image/png").run()
    options = explore.selectbox(key=keys.GALLERY_CURRENT).options
    assert [option.split(" ")[0] for option in options] == [f"{i}.png" for i in range(2, GALLERY_SIZE + 2)]


def test_a_dataset_sample_shows_as_the_current_image(explore):
    assert _thumbnail_caption(explore).startswith("Current image: mnist test #")
