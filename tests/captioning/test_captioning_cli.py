"""The captioning commands on the shipped captioner: caption a scene with per-word files, refuse bad input."""

import csv
import json

from xai_core.captioning import caption_images, load_captioner
from xai_core.captioning.words import WORD_TABLE_COLUMNS
from xai_core.cli import main
from xai_core.data.captioning import make_scene


def test_caption_a_test_scene_writes_words_and_maps(tmp_path, capsys):
    out = tmp_path / "caption"
    assert main(["caption", "--index", "4", "--methods", "grad_cam", "lsft", "--out", str(out), "--cgmas", "--quiet"]) == 0
    scene = make_scene("test", 4)
    words = caption_images(load_captioner(), scene.image[None])[0]
    printed = capsys.readouterr().out
    assert f"captioning/test#4: {' '.join(words)}   (true: {scene.caption})" in printed
    with open(out / "words.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert tuple(rows[0]) == WORD_TABLE_COLUMNS and len(rows) == 2 * len(words)
    assert [row["word"] for row in rows[: len(words)]] == words
    assert json.loads((out / "words.json").read_text())["caption"] == " ".join(words)
    assert len(list(out.glob("*-grad_cam.png"))) == len(words) and len(list(out.glob("*-cgmas.png"))) == len(words)


def test_caption_refuses_bad_input(tmp_path, capsys):
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert main(["caption", "--image", str(text)]) == 2
    assert main(["caption", "--index", "500"]) == 2
    assert main(["caption", "--index", "0", "--captioner", "nope"]) == 2
    assert main(["train-captioner", "--out", str(tmp_path / "elsewhere"), "--quiet"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors[1] == "error: --index must be in 0..499"
    assert errors[2].startswith("error: no captioner 'nope'; known: captioner-resnet")
    assert errors[3].startswith("error: captioner-resnet is a shipped id")
    assert errors[0].startswith("error: ") and "Traceback" not in "\n".join(errors)
