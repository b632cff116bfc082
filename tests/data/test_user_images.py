"""Your own images as datasets: an unlabelled folder (labels -1, classes [], a deterministic 80/20 split by file,
224-px centre crops) and an upload set from several files and zip archives (unreadable files skipped and listed,
zip bombs refused without being decompressed). Every image is written by the test, a few pixels each."""

import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from xai_core.data import UNLABELED, DatasetUnavailable, ImageDataset, dataset_from_files, folders, load_dataset, remember_upload, uploads
from xai_core.data.folders import unlabelled_split


def _png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _truncated_png() -> bytes:
    """The first half of a PNG of noise: the header reads, the pixels stop short."""
    data = _png(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    return data[: len(data) // 2]


def _grey(value: int, size=(12, 12)) -> np.ndarray:
    return np.full((*size, 3), value, dtype=np.uint8)


def _write_photos(root, count: int) -> list[str]:
    """``count`` flat-grey photos whose grey level is their number (so the test can tell them apart), and a note."""
    root.mkdir(parents=True)
    for i in range(count):
        (root / f"photo_{i:02d}.png").write_bytes(_png(_grey(10 * i)))
    (root / "notes.txt").write_text("not an image: ignored")
    (root / ".DS_Store").write_bytes(b"hidden: ignored")
    return [f"photo_{i:02d}.png" for i in range(count)]


def test_an_unlabelled_folder_loads_with_a_deterministic_split_by_file(tmp_path):
    names = _write_photos(tmp_path / "photos", 10)
    test = load_dataset(f"folder:{tmp_path / 'photos'}", "test")
    train = load_dataset(f"folder:{tmp_path / 'photos'}", "train")
    for part in (test, train):
        assert part.classes == [] and not part.labelled and set(part.labels.tolist()) == {UNLABELED}
        assert part.images.dtype == torch.uint8 and part.images.shape[1:] == (3, 224, 224)  # the default fits 224-px models
        assert part.masks is None and part.info["skipped"] == []
        assert part[0][1] == UNLABELED and part.label_of(0) is None
    assert (len(test), len(train)) == (2, 8)  # 80/20 by file
    assert sorted(test.info["files"] + train.info["files"]) == names  # each file in exactly one split
    # the split is the seeded shuffle of the sorted file names, whatever the order the disk lists them in
    assert test.info["files"] == [names[i] for i in unlabelled_split(10, "test")]
    assert unlabelled_split(10, "test") == sorted(np.random.default_rng(0).permutation(10)[:2].tolist())
    # each image is the file it names (grey level = 10 x its number)
    for index, file in enumerate(test.info["files"]):
        assert int(test.images[index, 0, 0, 0]) == 10 * int(file[6:8])
    assert test.describe(0) == f"folder:{tmp_path / 'photos'}/test#0 ({test.info['files'][0]})"


def test_folder_images_are_centre_cropped_not_distorted_and_the_size_is_a_parameter(tmp_path):
    root = tmp_path / "wide"
    root.mkdir()
    wide = np.zeros((20, 40, 3), dtype=np.uint8)
    wide[:, 10:30] = 255  # a white square between black side bands: the crop keeps the square only
    (root / "wide.png").write_bytes(_png(wide))
    image = load_dataset(f"folder:{root}", "test").images[0]
    assert image.shape == (3, 224, 224) and int(image.min()) == 255
    assert load_dataset(f"folder:{root}", "test", image_size=16).images.shape == (1, 3, 16, 16)


def test_a_one_image_folder_is_a_test_split_and_an_empty_train_split_says_so(tmp_path):
    _write_photos(tmp_path / "one", 1)
    assert len(load_dataset(f"folder:{tmp_path / 'one'}", "test")) == 1
    with pytest.raises(DatasetUnavailable, match=r"The train split of .* is empty: its 1 image\(s\) all form the test split"):
        load_dataset(f"folder:{tmp_path / 'one'}", "train")
    (tmp_path / "nothing").mkdir()
    with pytest.raises(DatasetUnavailable, match="holds no image files and has no class sub-folders"):
        load_dataset(f"folder:{tmp_path / 'nothing'}", "test")


def test_an_unreadable_photo_is_skipped_and_listed(tmp_path):
    _write_photos(tmp_path / "photos", 9)
    (tmp_path / "photos" / "zz_cut.png").write_bytes(_truncated_png())
    both = [load_dataset(f"folder:{tmp_path / 'photos'}", split) for split in ("test", "train")]
    assert sum(len(part) for part in both) == 9  # the 9 good photos, nothing else lost
    skipped = [note for part in both for note in part.info["skipped"]]
    assert len(skipped) == 1 and "zz_cut.png: The image file is damaged or truncated" in skipped[0]


def test_a_folder_load_is_reused_until_a_file_changes(tmp_path):
    _write_photos(tmp_path / "photos", 5)
    first = load_dataset(f"folder:{tmp_path / 'photos'}", "train")
    assert load_dataset(f"folder:{tmp_path / 'photos'}", "train") is first
    (tmp_path / "photos" / "photo_99.png").write_bytes(_png(_grey(99)))
    again = load_dataset(f"folder:{tmp_path / 'photos'}", "train")
    assert again is not first and len(again) + len(load_dataset(f"folder:{tmp_path / 'photos'}", "test")) == 6
    assert len(folders._cache) <= folders.CACHED_FOLDERS


def test_an_unlabelled_dataset_keeps_its_labels_consistent():
    images = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    with pytest.raises(ValueError, match="unlabelled dataset"):
        ImageDataset("x", "test", images, torch.tensor([0, -1]), [])
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.1"):
        ImageDataset("x", "test", images, torch.tensor([-1, 0]), ["a", "b"])
    assert ImageDataset("x", "test", images, torch.tensor([-1, -1]), []).labelled is False


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            if name.endswith("/"):
                archive.writestr(zipfile.ZipInfo(name), b"")
            else:
                archive.writestr(name, data)
    return buffer.getvalue()


def test_several_files_and_a_zip_make_one_unlabelled_upload_set():
    archive = _zip(
        {
            "holiday/": b"",
            "holiday/beach.png": _png(_grey(30)),
            "holiday/sea.JPG": _jpeg(_grey(60)),
            "holiday/readme.txt": b"words",
            "__MACOSX/holiday/._beach.png": b"resource fork",
            "holiday/broken.png": _truncated_png(),
        }
    )
    files = [("a.png", _png(_grey(10, (30, 50)))), ("b.png", _png(_grey(20))), ("trip.zip", archive), ("cut.png", _truncated_png())]
    dataset = dataset_from_files(files)
    assert dataset.name.startswith("upload:") and dataset.name == dataset_from_files(files).name  # named by content
    assert dataset.info["files"] == ["a.png", "b.png", "trip.zip/holiday/beach.png", "trip.zip/holiday/sea.JPG"]
    assert dataset.images.shape == (4, 3, 224, 224) and not dataset.labelled and dataset.labels.tolist() == [UNLABELED] * 4
    skipped = dataset.info["skipped"]
    assert [note.split(":")[0] for note in skipped] == ["trip.zip/holiday/readme.txt", "trip.zip/holiday/broken.png", "cut.png"]
    assert "not an image file" in skipped[0] and all("damaged or truncated" in note for note in skipped[1:])
    # kept in this process, every consumer loads it by name (both splits are the whole set)
    assert remember_upload(dataset) == dataset.name
    assert load_dataset(dataset.name, "test") is dataset and load_dataset(dataset.name, "train") is dataset


def _jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_zip_bombs_and_crowded_archives_are_refused_without_decompressing(monkeypatch):
    monkeypatch.setattr(uploads, "MAX_ARCHIVE_BYTES", 2**20)
    bomb = _zip({"bomb.png": bytes(3 * 2**20)})  # 3 MB of zeros that compress to a few KB
    assert len(bomb) < 50_000
    opened = []
    original_open = zipfile.ZipFile.open
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: opened.append(a) or original_open(self, *a, **k))
    with pytest.raises(DatasetUnavailable, match=r"bomb\.zip: refused, its images declare 3\.0 MB uncompressed; the limit is 1 MB"):
        dataset_from_files([("bomb.zip", bomb)])
    assert opened == []  # refused from the declared sizes alone
    crowded = _zip({f"{i}.png": _png(_grey(i)) for i in range(6)})
    dataset = dataset_from_files([("crowded.zip", crowded), ("ok.png", _png(_grey(1)))], max_archive_members=5)
    assert dataset.info["files"] == ["ok.png"]
    assert dataset.info["skipped"] == ["crowded.zip: refused, it holds 6 entries; the limit is 5"]
    capped = dataset_from_files([(f"{i}.png", _png(_grey(i))) for i in range(3)], max_images=2)
    assert len(capped) == 2 and capped.info["skipped"] == ["2.png: over the limit of 2 images an upload may hold"]


def test_an_upload_with_nothing_usable_says_why():
    with pytest.raises(DatasetUnavailable, match=r"None of the uploaded files is a usable image \(x\.pdf: not an image file or a zip"):
        dataset_from_files([("x.pdf", b"%PDF"), ("y.png", b"not a png")])
    with pytest.raises(DatasetUnavailable, match="no longer|not in memory"):
        load_dataset("upload:0000000000000000")
