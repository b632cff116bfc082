"""SFT-GAN training data: CGMA slots, generator images, class hold-out, batches, shard caching."""

import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from xai_core.attribution.layers import cumulative_gradcam_averages, layer_gradcams
from xai_core.data import ImageDataset
from xai_core.sftgan import data as sftgan_data
from xai_core.sftgan.data import (
    Pair,
    Shard,
    build_pair_shard,
    cgma_slots,
    fit_cgmas,
    generator_image,
    generator_inputs,
    heldout_classes,
    shard_path,
    slot_layers,
    training_batches,
    working_size,
)


def tiny_cnn(in_channels: int = 1, classes: int = 3, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(4, 4, 3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, classes),
    ).eval()


def labelled_cgmas(m: int, n: int = 2, size: int = 3) -> torch.Tensor:
    """Tensor[n, m, size, size] whose channel i is filled with the value i."""
    return torch.arange(m, dtype=torch.float32).view(1, m, 1, 1).expand(n, m, size, size).clone()


# ---------------------------------------------------------------- fit_cgmas


@pytest.mark.parametrize(
    "m, expected",
    [
        (7, [0, 1, 2, 3, 4, 5, 6, 6]),
        (3, [0, 1, 1, 1, 2, 2, 2, 2]),
        (2, [0, 1, 1, 1, 1, 1, 1, 1]),
        (1, [0, 0, 0, 0, 0, 0, 0, 0]),
    ],
)
def test_fit_cgmas_fills_the_eight_slots_by_the_position_rule(m, expected):
    assert expected == [math.ceil(k * (m - 1) / 7) for k in range(8)]  # the rule, spelled out
    assert cgma_slots(m, 8) == expected
    fitted = fit_cgmas(labelled_cgmas(m), 8)
    assert fitted.shape == (2, 8, 3, 3)
    for slot, index in enumerate(expected):
        assert torch.equal(fitted[:, slot], torch.full((2, 3, 3), float(index)))


def test_fit_cgmas_keeps_eight_and_refuses_more():
    cgmas = labelled_cgmas(8)
    assert fit_cgmas(cgmas, 8) is cgmas
    with pytest.raises(ValueError, match="9 CGMAs for 8 slots"):
        fit_cgmas(labelled_cgmas(9), 8)
    assert cgma_slots(1, 1) == [0]


def test_slot_layers_maps_slots_to_conv_layers():
    assert slot_layers(13, 8) == [0, 2, 4, 6, 7, 9, 11, 12]
    assert slot_layers(3, 8) == [0, 1, 1, 1, 2, 2, 2, 2]


# ---------------------------------------------------------------- generator_image


def test_generator_image_min_max_scales_each_image_and_repeats_one_channel():
    torch.manual_seed(0)
    x = torch.randn(3, 1, 5, 6) * torch.tensor([1.0, 10.0, 0.1]).view(3, 1, 1, 1) + 4
    image = generator_image(x)
    assert image.shape == (3, 3, 5, 6)
    for i in range(3):
        expected = (x[i] - x[i].min()) / (x[i].max() - x[i].min())
        for channel in range(3):
            torch.testing.assert_close(image[i, channel], expected[0])
        assert image[i].min() == 0 and image[i].max() == 1


def test_generator_image_ignores_an_affine_normalisation():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 7, 5)
    torch.testing.assert_close(generator_image(2 * x + 5), generator_image(x), rtol=0, atol=1e-6)
    torch.testing.assert_close(generator_image((x - 0.45) / 0.226), generator_image(x), rtol=0, atol=1e-6)


def test_generator_image_scales_over_all_channels_together():
    x = torch.zeros(1, 3, 2, 2)
    x[0, 0] = torch.tensor([[0.0, 1.0], [0.5, 0.25]])
    x[0, 1] = torch.tensor([[0.0, 10.0], [5.0, 2.5]])
    image = generator_image(x)
    torch.testing.assert_close(image[0, 0], torch.tensor([[0.0, 0.1], [0.05, 0.025]]))  # not stretched to [0, 1]
    torch.testing.assert_close(image[0, 1], torch.tensor([[0.0, 1.0], [0.5, 0.25]]))
    assert torch.equal(generator_image(torch.full((1, 1, 3, 3), 7.0)), torch.zeros(1, 3, 3, 3))  # constant: no NaN


# ---------------------------------------------------------------- class hold-out


def test_heldout_classes_is_seeded_sorted_and_bounded():
    first = heldout_classes(10, 0.2, seed=0)
    assert first == heldout_classes(10, 0.2, seed=0)
    assert len(first) == 2 and first == sorted(first) and len(set(first)) == 2
    assert all(0 <= c < 10 for c in first)
    assert len(heldout_classes(10, 0.25, 0)) == 3  # ceil(2.5)
    assert len(heldout_classes(10, 0.01, 0)) == 1  # at least one
    assert len(heldout_classes(10, 1.0, 0)) == 9  # at most n - 1
    assert heldout_classes(2, 0.9, 0) in ([0], [1])
    assert len({tuple(heldout_classes(10, 0.2, seed)) for seed in range(10)}) > 1, "seeds must matter"


# ---------------------------------------------------------------- generator_inputs


def test_generator_inputs_on_a_three_conv_cnn():
    model = tiny_cnn()
    torch.manual_seed(1)
    inputs = torch.randn(4, 1, 12, 10)
    computed = generator_inputs(model, inputs)
    layers = layer_gradcams(model, inputs)
    assert computed.cgmas.shape == (4, 8, 12, 10)
    torch.testing.assert_close(computed.cgmas, fit_cgmas(cumulative_gradcam_averages(layers, 8), 8))
    # 3 layers -> CGMAs (m0, (m0+m1)/2, (m0+m1+m2)/3) in slots [0, 1, 1, 1, 2, 2, 2, 2]
    m = layers.maps
    expected = [m[:, 0], (m[:, 0] + m[:, 1]) / 2, (m[:, 0] + m[:, 1] + m[:, 2]) / 3]
    for slot, index in enumerate([0, 1, 1, 1, 2, 2, 2, 2]):
        torch.testing.assert_close(computed.cgmas[:, slot], expected[index])
    torch.testing.assert_close(computed.final_gradcam, layers.maps[:, -1:])
    assert computed.final_gradcam.shape == (4, 1, 12, 10)
    torch.testing.assert_close(computed.image, generator_image(inputs))
    assert computed.image.shape == (4, 3, 12, 10)
    with torch.no_grad():
        logits = model(inputs)
    torch.testing.assert_close(computed.logits, logits)
    assert torch.equal(computed.targets, logits.argmax(dim=1))
    assert torch.equal(generator_inputs(model, inputs, target=2).targets, torch.full((4,), 2))


# ---------------------------------------------------------------- working size


@pytest.mark.parametrize(
    "size, expected",
    [
        ((32, 32), (32, 32)),
        ((64, 64), (64, 64)),
        ((224, 224), (64, 64)),
        ((224, 112), (64, 32)),
        ((112, 224), (32, 64)),
        ((640, 20), (64, 8)),
    ],
)
def test_working_size(size, expected):
    assert working_size(size) == expected


def test_working_size_other_max_side():
    assert working_size((80, 80), 32) == (32, 32)
    assert working_size((20, 30), 32) == (20, 30)


# ---------------------------------------------------------------- batches


def make_shard(name: str, m: int, heldout_every: int, seed: int, size: int = 4) -> Shard:
    generator = torch.Generator().manual_seed(seed)
    image = torch.randint(0, 256, (m, 3, size, size), dtype=torch.uint8, generator=generator)
    cgmas = torch.randint(0, 256, (m, 8, size, size), dtype=torch.uint8, generator=generator)
    target = torch.randint(0, 256, (m, 1, size, size), dtype=torch.uint8, generator=generator)
    heldout = torch.arange(m) % heldout_every == 0
    return Shard(Pair("synthetic", name), image, cgmas, target, heldout, [0])


@pytest.fixture
def shards() -> list[Shard]:
    return [make_shard("a", 20, 4, seed=1), make_shard("b", 13, 4, seed=2)]  # 15 and 9 training rows


def _rows_by_shard(batches, shards) -> list[tuple[int, int]]:
    seen = []
    for shard, rows in batches:
        index = next(i for i, s in enumerate(shards) if s is shard)
        assert rows.dtype == torch.long and rows.ndim == 1 and len(rows) > 0
        assert not shard.heldout[rows].any(), "held-out classes must never be trained on"
        seen += [(index, int(r)) for r in rows]
    return seen


def test_shard_rows_and_batch(shards):
    shard = shards[0]
    assert shard.rows(heldout=True).tolist() == [0, 4, 8, 12, 16]
    assert len(shard.rows(heldout=False)) == 15
    image, cgmas, target = shard.batch(torch.tensor([3, 5]))
    assert image.dtype == cgmas.dtype == target.dtype == torch.float32
    assert image.shape == (2, 3, 4, 4) and cgmas.shape == (2, 8, 4, 4) and target.shape == (2, 1, 4, 4)
    torch.testing.assert_close(cgmas, shard.cgmas[[3, 5]].float() / 255)
    assert shard.cgmas.dtype == torch.uint8  # the in-memory shard is untouched


def test_one_epoch_visits_every_training_row_once(shards):
    batches = list(training_batches(shards, batch_size=4, seed=0, epoch=1))
    assert len(batches) == 4 + 3  # ceil(15/4) + ceil(9/4), one world: nothing cut
    assert all(len(rows) <= 4 for _, rows in batches)
    seen = _rows_by_shard(batches, shards)
    expected = [(i, int(r)) for i, s in enumerate(shards) for r in s.rows(heldout=False)]
    assert sorted(seen) == sorted(expected) and len(seen) == len(expected) == 24
    assert {id(s) for s, _ in batches} == {id(s) for s in shards}


def test_two_ranks_get_equal_disjoint_shares(shards):
    rank0 = list(training_batches(shards, 4, seed=0, epoch=1, rank=0, world_size=2))
    rank1 = list(training_batches(shards, 4, seed=0, epoch=1, rank=1, world_size=2))
    assert len(rank0) == len(rank1) == 3  # 7 batches cut to 6
    seen0, seen1 = _rows_by_shard(rank0, shards), _rows_by_shard(rank1, shards)
    assert not set(seen0) & set(seen1)
    assert len(set(seen0)) == len(seen0) and len(set(seen1)) == len(seen1)
    # together they are the single-process epoch minus exactly one batch
    alone = list(training_batches(shards, 4, seed=0, epoch=1))
    left_out = set(_rows_by_shard(alone, shards)) - set(seen0) - set(seen1)
    assert any(set(_rows_by_shard([b], shards)) == left_out for b in alone)


def test_batches_are_seeded_per_epoch(shards):
    def listing(seed, epoch):
        return [(id(s), rows.tolist()) for s, rows in training_batches(shards, 4, seed=seed, epoch=epoch)]

    assert listing(0, 1) == listing(0, 1)
    assert listing(0, 1) != listing(0, 2), "every epoch reshuffles"
    assert listing(0, 1) != listing(1, 1)


# ---------------------------------------------------------------- shard building and caching (no real model or data set)


N_TRAIN, N_TEST, CLASSES = 60, 20, [f"c{i}" for i in range(5)]
LOADS_PER_BUILD = 2  # the train split, for the labels here and for the images in the shard's worker (never the test split)


@pytest.fixture
def fake_pair(monkeypatch):
    """build_pair_shard with a tiny CNN and an 80-image synthetic data set; counts data set loads."""
    model = tiny_cnn(in_channels=1, classes=len(CLASSES))
    generator = torch.Generator().manual_seed(3)
    splits = {
        split: ImageDataset(
            "fake",
            split,
            torch.randint(0, 256, (n, 1, 32, 32), dtype=torch.uint8, generator=generator),
            torch.arange(n) % len(CLASSES),
            list(CLASSES),
        )
        for split, n in (("train", N_TRAIN), ("test", N_TEST))
    }
    card = SimpleNamespace(
        model=model, preprocess=lambda x: (x - 0.5) / 0.25, provenance={"sha256": "f" * 64}, input_size=(32, 32), classes=list(CLASSES)
    )
    loads = []

    def load_dataset(name, split="test"):
        loads.append((name, split))
        return splits[split]

    monkeypatch.setattr(sftgan_data, "load_model", lambda model_id: card)
    monkeypatch.setattr(sftgan_data, "load_dataset", load_dataset)
    return SimpleNamespace(pair=Pair("fake", "vgg-fake"), card=card, splits=splits, loads=loads)


def test_build_pair_shard_contents(fake_pair, tmp_path):
    path = build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, holdout_fraction=0.2, seed=0, progress=False)
    assert path == shard_path(tmp_path, fake_pair.pair) == tmp_path / "vgg-fake.safetensors" and path.is_file()
    assert not list(tmp_path.glob("*.tmp"))
    shard = Shard.load(path, fake_pair.pair)
    assert shard.image.dtype == shard.target.dtype == torch.uint8 and shard.cgmas.dtype == torch.float16
    assert shard.image.shape == (40, 3, 32, 32) and shard.cgmas.shape == (40, 8, 32, 32) and shard.target.shape == (40, 1, 32, 32)
    assert shard.heldout.dtype == torch.bool and shard.heldout.shape == (40,)
    assert shard.heldout_classes == heldout_classes(len(CLASSES), 0.2, 0)
    # the rows are the seeded choice of train-split images, and 'heldout' marks exactly the held-out classes
    chosen = torch.from_numpy(np.sort(np.random.default_rng(0).permutation(N_TRAIN)[:40]))
    images = fake_pair.splits["train"].images[chosen]
    labels = fake_pair.splits["train"].labels[chosen]
    from safetensors.torch import load_file

    stored = load_file(str(path))
    assert torch.equal(stored["label"], labels) and torch.equal(shard.row, chosen)
    assert {split for _, split in fake_pair.loads} == {"train"}, "a generator's shard never reads the test split"
    assert torch.equal(shard.heldout, torch.isin(labels, torch.tensor(shard.heldout_classes)))
    assert 0 < int(shard.heldout.sum()) < 40
    # and what is stored is the quantised generator input of those images
    computed = generator_inputs(fake_pair.card.model, fake_pair.card.preprocess(images.float() / 255))
    quantised = lambda maps: (maps.clamp(0, 1) * 255).round().to(torch.uint8)  # noqa: E731
    assert torch.equal(shard.image, quantised(computed.image))
    torch.testing.assert_close(shard.cgmas.float(), computed.cgmas, rtol=0, atol=1e-3)  # float16: 2^-11 relative
    assert (shard.target.int() - quantised(computed.final_gradcam).int()).abs().max() <= 1
    assert torch.equal(stored["explained"], computed.targets)
    assert shard.target.float().std() > 0 and shard.cgmas.float().std() > 0


def test_build_pair_shard_reuses_and_rebuilds(fake_pair, tmp_path):
    path = build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, progress=False)
    stamp = os.stat(path).st_mtime_ns
    assert len(fake_pair.loads) == LOADS_PER_BUILD
    assert build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, progress=False) == path
    assert os.stat(path).st_mtime_ns == stamp and len(fake_pair.loads) == LOADS_PER_BUILD, "a matching shard is reused"
    build_pair_shard(fake_pair.pair, tmp_path, per_pair=30, progress=False)
    assert len(fake_pair.loads) == 2 * LOADS_PER_BUILD
    assert Shard.load(path, fake_pair.pair).image.shape[0] == 30, "another per_pair rebuilds the shard"
    fake_pair.card.provenance["sha256"] = "e" * 64  # retrained CNN
    build_pair_shard(fake_pair.pair, tmp_path, per_pair=30, progress=False)
    assert len(fake_pair.loads) == 3 * LOADS_PER_BUILD
    build_pair_shard(fake_pair.pair, tmp_path, per_pair=30, seed=1, progress=False)
    assert len(fake_pair.loads) == 4 * LOADS_PER_BUILD


@pytest.mark.parametrize("garbage", [b"", b"not a safetensors file at all", b"\xff" * 64])
def test_a_broken_shard_file_is_rebuilt(fake_pair, tmp_path, garbage):
    path = shard_path(tmp_path, fake_pair.pair)
    path.write_bytes(garbage)
    assert build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, progress=False) == path
    assert Shard.load(path, fake_pair.pair).image.shape == (40, 3, 32, 32)


def test_a_truncated_shard_file_is_rebuilt(fake_pair, tmp_path):
    from safetensors.torch import load_file

    path = build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, progress=False)
    original = {name: tensor.clone() for name, tensor in load_file(str(path)).items()}  # not views of the file
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])
    build_pair_shard(fake_pair.pair, tmp_path, per_pair=40, progress=False)
    assert len(fake_pair.loads) == 2 * LOADS_PER_BUILD
    rebuilt = load_file(str(path))
    assert rebuilt.keys() == original.keys()
    assert [name for name in original if not torch.equal(rebuilt[name], original[name])] == []  # rebuilt identically (seeded)
