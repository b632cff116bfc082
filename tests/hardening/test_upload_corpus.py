"""Hostile uploads (issue 8, item 5): every corpus file becomes a usable L/RGB picture or a clear
ImageDecodeError, in the engine, the CLI ``--image`` and the Explore page; memory stays bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest

from pages.common import keys
from tests.hardening.conftest import encode
from xai_core import ImageDecodeError, explain, load_model
from xai_core.cli import main
from xai_core.data import decode_image, pil_to_tensor
from xai_core.data.decode import MAX_WORKING_SIDE, limit_side, read_image_file

REPOSITORY = Path(__file__).resolve().parents[2]
APP = str(REPOSITORY / "app.py")
EXIF_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# files a user would plausibly drop on the Explore page: odd but valid, damaged, disguised, and bombs
PAGE_SAMPLE = (
    "cmyk.jpg",
    "palette-transparent.png",
    "grey16.png",
    "exif-6.jpg",
    "shape-10000x10.png",
    "animated.gif",
    "truncated-jpg-414.jpg",
    "archive.png",
    "bomb-png-100000.png",
    "bomb-real-6000.png",
    "empty.png",
)


def _outcome(path: Path) -> Image.Image | ImageDecodeError:
    try:
        return decode_image(path.read_bytes())
    except ImageDecodeError as error:
        return error


def test_the_corpus_is_large_and_covers_every_kind(upload_corpus):
    assert len(upload_corpus) >= 200
    expected = {entry.expect for entry in upload_corpus}
    assert expected == {"image", "refused", "either"}
    names = {entry.name for entry in upload_corpus}
    for prefix in (
        "truncated-png",
        "truncated-jpg",
        "truncated-gif",
        "truncated-webp",
        "truncated-tif",
        "bomb-",
        "exif-8",
        "random-",
        "flipped-",
    ):
        assert any(name.startswith(prefix) for name in names), prefix
    assert len(set(upload_corpus)) == len(upload_corpus)


def test_every_file_gives_a_usable_picture_or_a_clear_refusal(upload_corpus):
    """A picture is L or RGB of the expected size, and goes through a model and an explanation;
    a refusal is an ImageDecodeError with a message; nothing else is ever raised."""
    card = load_model("vgg-mnist")
    problems = []
    for entry in upload_corpus:
        outcome = _outcome(entry.path)
        if isinstance(outcome, ImageDecodeError):
            message = str(outcome)
            if entry.expect == "image" or not message.strip() or entry.reason not in message:
                problems.append(f"{entry.name}: refused with {message!r}")
            continue
        if entry.expect == "refused" or outcome.mode not in ("L", "RGB") or (entry.size and outcome.size != entry.size):
            problems.append(f"{entry.name}: decoded to {outcome.mode} {outcome.size}")
            continue
        image = pil_to_tensor(limit_side(outcome, MAX_WORKING_SIDE))
        assert image.dtype == torch.float32 and float(image.min()) >= 0 and float(image.max()) <= 1
        saliency = explain(card, image, ["grad_cam"])["grad_cam"]
        if saliency.shape != (1, 1, 32, 32) or not torch.isfinite(saliency).all():
            problems.append(f"{entry.name}: explanation {tuple(saliency.shape)}")
    assert problems == []


def test_bombs_are_refused_for_their_size(upload_corpus):
    bombs = [entry for entry in upload_corpus if entry.name.startswith("bomb-") and entry.expect == "refused"]
    assert len(bombs) >= 10
    for entry in bombs:
        message = str(_outcome(entry.path))
        assert "limit is 25,000,000 pixels" in message or "too large to decode safely" in message, entry.name


def _peak_rss_bytes() -> int:
    """This process's peak resident set size (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _peak_growth(files) -> int:
    """Growth of the peak RSS while decoding ``files`` (the peak is reset to the current RSS first)."""
    Path("/proc/self/clear_refs").write_text("5")
    before = _peak_rss_bytes()
    for entry in files:
        _outcome(entry.path)
    return _peak_rss_bytes() - before


def test_memory_stays_bounded_and_bombs_allocate_nothing(upload_corpus):
    bombs = [entry for entry in upload_corpus if entry.name.startswith("bomb-")]
    _peak_growth(upload_corpus[:3])  # warm the decoders' libraries
    assert _peak_growth(bombs) < 40 * 2**20  # 6000x6000 decoded would be 36 MB; 100000x100000, 10 GB
    assert _peak_growth(upload_corpus) < 400 * 2**20


def test_exif_orientations_are_applied_exactly(upload_corpus):
    by_name = {entry.name: entry.path for entry in upload_corpus}
    upright = np.asarray(decode_image(by_name["exif-1.png"].read_bytes()))
    for orientation, transpose in EXIF_TRANSPOSES.items():
        turned = np.asarray(decode_image(by_name[f"exif-{orientation}.png"].read_bytes()))
        assert np.array_equal(turned, np.asarray(Image.fromarray(upright).transpose(transpose))), orientation


def test_float_images_scale_over_their_finite_values():
    values = np.array([[np.nan, 0.0, 2.0], [np.inf, -np.inf, 1.0]], dtype=np.float32)
    decoded = decode_image(encode(Image.fromarray(values), "TIFF"))
    assert decoded.mode == "L" and np.asarray(decoded).tolist() == [[0, 0, 255], [255, 0, 128]]
    assert np.asarray(decode_image(encode(Image.fromarray(np.full((2, 2), np.nan, np.float32)), "TIFF"))).tolist() == [[0, 0]] * 2
    signed = Image.fromarray(np.array([[-70000, 0, 70000]], dtype=np.int32))
    assert np.asarray(decode_image(encode(signed, "TIFF"))).tolist() == [[0, 128, 255]]


def test_files_that_cannot_be_read_are_refused(tmp_path):
    with pytest.raises(ImageDecodeError, match="not a regular file"):
        read_image_file(tmp_path)
    with pytest.raises(ImageDecodeError, match="No such file"):
        read_image_file(tmp_path / "missing.png")


def test_cli_predict_answers_every_file_with_json_or_one_error_line(upload_corpus, capsys):
    problems = []
    for entry in upload_corpus:
        code = main(["predict", "--model", "vgg-mnist", "--image", str(entry.path)])
        out, err = capsys.readouterr()
        decoded = not isinstance(_outcome(entry.path), ImageDecodeError)
        if code == 0 and decoded:
            assert 0 <= json.loads(out)["predicted_label"] < 10 and err == ""
        elif code == 2 and not decoded:
            lines = err.strip().splitlines()
            if len(lines) != 1 or not lines[0].startswith("error: ") or len(lines[0]) < 20 or out:
                problems.append(f"{entry.name}: {err!r}")
        else:
            problems.append(f"{entry.name}: exit {code}, decodes: {decoded}")
    assert problems == []


def test_cli_process_refuses_a_bomb_with_one_line(upload_corpus):
    path = next(entry.path for entry in upload_corpus if entry.name == "bomb-png-100000.png")
    done = subprocess.run(
        [sys.executable, "-m", "xai_core", "predict", "--model", "vgg-mnist", "--image", str(path)],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("error: The image is too large to decode safely") and done.stderr.count("\n") == 1


def test_explore_page_shows_a_prediction_or_a_message_for_each_upload(upload_corpus):
    by_name = {entry.name: entry.path for entry in upload_corpus}
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page("pages/explore.py").run()
    app.radio(key=keys.IMAGE_SOURCE).set_value(keys.SOURCE_UPLOAD).run()
    last_usable = None  # a file that cannot be used leaves the current upload current
    for name in PAGE_SAMPLE:
        app.file_uploader(key=keys.UPLOAD).upload(name, by_name[name].read_bytes(), "application/octet-stream").run()
        assert not app.exception, (name, [e.message for e in app.exception])
        markdown = "\n".join(m.value for m in app.markdown)
        if isinstance(_outcome(by_name[name]), ImageDecodeError):
            assert [e.value for e in app.error] == [f"Cannot use {name}: {_outcome(by_name[name])}"]
        else:
            assert not app.error, name
            last_usable = name
        assert ("**Predicted:**" in markdown) == (last_usable is not None), name
        if last_usable is not None:
            assert f"upload: {last_usable} (" in app.get("image")[0].captions[0]
