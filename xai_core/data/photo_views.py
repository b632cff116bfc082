"""``photo_views``: thousands of distinct 224x224 views of the natural photos that ship inside installed wheels,
for training SFT-GAN generators of ImageNet-scale CNNs (issue 20's ``photos`` strategy) without any download.

Sources (all offline): scikit-image's bundled photos (people, animals, objects, a microscopy and a retina
image, textures, a telescope field), scikit-learn's two sample photos, matplotlib's portrait of Grace Hopper.
Each view is a random square crop (side 35-100 % of the photo's shorter side, anywhere in the photo), flipped
left-right with probability 1/2, resized to 224x224. The split is **by source photo**: the test split's views
come only from held-out photos, so no crop of a training photo is ever evaluated. The data is unlabelled (the
CNN's predicted class is the class); ``info["groups"]`` names each view's source photo (an index into
``info["photos"]``), so training code can hold out photos inside the train split as well.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .base import UNLABELED, ImageDataset
from .decode import pil_to_uint8, read_image_file

VIEW_SIZE = 224
VIEWS = {"train": 2000, "test": 400}
TEST_PHOTOS = ("chelsea", "motorcycle", "china", "retina")  # held out: a cat, a vehicle, a scene, a medical image
SKIMAGE_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "ihc": "ihc.png",
    "camera": "camera.png",
    "horse": "horse.png",
    "coins": "coins.png",
    "brick": "brick.png",
    "grass": "grass.png",
    "gravel": "gravel.png",
}
SEED = 0
MIN_CROP_FRACTION = 0.35


def photo_files() -> dict[str, Path]:
    """{photo name: file} of every source photo, from the installed scikit-image, scikit-learn and matplotlib."""
    import matplotlib
    import skimage.data
    import sklearn.datasets

    skimage_dir = Path(skimage.data.__file__).parent
    sklearn_dir = Path(sklearn.datasets.__file__).parent / "images"
    files = {name: skimage_dir / file_name for name, file_name in SKIMAGE_PHOTOS.items()}
    files |= {"china": sklearn_dir / "china.jpg", "flower": sklearn_dir / "flower.jpg"}
    files["grace_hopper"] = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return files


def photo_names(split: str) -> list[str]:
    """The sorted names of a split's source photos (``info["groups"]`` indexes this list)."""
    return sorted(name for name in photo_files() if (name in TEST_PHOTOS) == (split == "test"))


def random_view(photo: Image.Image, generator: np.random.Generator, size: int = VIEW_SIZE) -> Image.Image:
    """One random square crop of ``photo`` (side in [MIN_CROP_FRACTION, 1] of its shorter side, uniform position),
    flipped left-right with probability 1/2, resized to ``size`` x ``size``."""
    shorter = min(photo.size)
    side = max(8, round(shorter * generator.uniform(MIN_CROP_FRACTION, 1.0)))
    left = int(generator.integers(0, photo.width - side + 1))
    top = int(generator.integers(0, photo.height - side + 1))
    view = photo.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR, reducing_gap=3.0)
    return view.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if generator.random() < 0.5 else view


def load_photo_views(split: str = "train", views: int | None = None, size: int = VIEW_SIZE, seed: int = SEED) -> ImageDataset:
    """``views`` (default :data:`VIEWS`[split]) seeded random views of the split's source photos, as an unlabelled
    uint8 dataset Tensor[views, 3, size, size]: train views come from every photo but :data:`TEST_PHOTOS`, test
    views only from those. Views are dealt round-robin over the photos, so each photo gives the same number."""
    if split not in VIEWS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    files, names = photo_files(), photo_names(split)
    photos = [read_image_file(files[name]).convert("RGB") for name in names]
    count = VIEWS[split] if views is None else views
    generator = np.random.default_rng([seed, 0 if split == "train" else 1])
    groups = [index % len(photos) for index in range(count)]
    images = torch.stack([pil_to_uint8(random_view(photos[group], generator, size)) for group in groups])
    return ImageDataset(
        "photo_views",
        split,
        images,
        torch.full((count,), UNLABELED, dtype=torch.long),
        [],
        None,
        source=f"random views of {len(names)} photos bundled in scikit-image, scikit-learn and matplotlib",
        info={"groups": torch.tensor(groups), "photos": names, "files": [f"{names[g]} view {i}" for i, g in enumerate(groups)]},
    )
