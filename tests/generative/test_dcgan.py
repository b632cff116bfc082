"""DCGAN networks, seeded training with manifest/sample grids, safe loading, and the train-gan CLI."""

import json

import pytest
import torch

from xai_core.cli import main
from xai_core.generative import dcgan
from xai_core.generative.dcgan import DCGANDiscriminator, DCGANGenerator, upsampling_steps
from xai_core.generative.training import GANConfig, generate, shipped_gan_configs, train_gan
from xai_core.models.checkpoints import CheckpointError, read_manifest


@pytest.mark.parametrize("size, steps", [(28, 2), (32, 3), (48, 3)])
def test_generator_and_discriminator_shapes(size, steps):
    assert upsampling_steps(size) == steps
    torch.manual_seed(0)
    generator = DCGANGenerator(latent_dim=8, channels=3, image_size=size, num_classes=4, width=8)
    images = generator(torch.randn(5, 8), torch.tensor([0, 1, 2, 3, 0]))
    assert images.shape == (5, 3, size, size)
    assert images.min() >= 0 and images.max() <= 1
    logits = DCGANDiscriminator(3, size, num_classes=4, width=8)(images, torch.tensor([0, 1, 2, 3, 0]))
    assert logits.shape == (5,)
    assert generator.latent_weight().shape == (generator.start_channels * generator.start_size**2, 8)


def test_conditional_generator_needs_labels_and_latents_of_its_size():
    generator = DCGANGenerator(latent_dim=8, image_size=32, num_classes=3, width=8)
    with pytest.raises(ValueError, match="pass labels"):
        generator(torch.randn(2, 8))
    with pytest.raises(ValueError, match=r"\[N, 8\]"):
        generator(torch.randn(2, 9), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="multiple of 4"):
        DCGANGenerator(image_size=30)


def test_labels_change_a_conditional_sample():
    torch.manual_seed(1)
    generator = DCGANGenerator(latent_dim=8, image_size=32, num_classes=3, width=8).eval()
    z = torch.randn(1, 8)
    assert not torch.equal(generator(z, torch.tensor([0])), generator(z, torch.tensor([2])))


def tiny_config(**overrides):
    return GANConfig("mnist", conditional=True, epochs=1, batch_size=256, width=8, latent_dim=8, **overrides)


def test_training_is_seeded_writes_manifest_grids_and_loads_back(tmp_path, monkeypatch):
    first = train_gan(tiny_config(), out_dir=tmp_path / "a", run_dir=tmp_path / "run-a", progress=False, score=False)
    second = train_gan(tiny_config(), out_dir=tmp_path / "b", run_dir=tmp_path / "run-b", progress=False, score=False)
    assert first["sha256"] == second["sha256"]
    assert first["id"] == "cdcgan-mnist" and first["kind"] == "cdcgan" and len(first["classes"]) == 10
    assert first["command"].startswith("python -m xai_core train-gan --dataset mnist --seed 0 --epochs 1 --conditional")
    assert (tmp_path / "run-a" / "samples" / "epoch_001.png").is_file()
    assert json.loads((tmp_path / "run-a" / "history.json").read_text())[0]["epoch"] == 1
    assert [e["id"] for e in read_manifest(tmp_path / "a", "gans")] == ["cdcgan-mnist"]

    monkeypatch.setattr(dcgan, "checkpoint_dirs", lambda: [tmp_path / "a"])
    dcgan.load_gan.cache_clear()
    generator = dcgan.load_gan("cdcgan-mnist")
    assert not generator.training and generator.conditional
    torch.testing.assert_close(generate(generator, 4, seed=3), generate(generator, 4, seed=3))
    assert dcgan.list_gans("mnist") == ["cdcgan-mnist"] and dcgan.list_gans("glyphs") == []

    (tmp_path / "a" / "cdcgan-mnist.safetensors").write_bytes(b"tampered")
    dcgan.load_gan.cache_clear()
    with pytest.raises(CheckpointError, match="modified or replaced"):
        dcgan.load_gan("cdcgan-mnist")
    dcgan.load_gan.cache_clear()


def test_unknown_gan_names_the_training_command(monkeypatch, tmp_path):
    monkeypatch.setattr(dcgan, "checkpoint_dirs", lambda: [tmp_path])
    with pytest.raises(CheckpointError, match="train-gan"):
        dcgan.gan_info("dcgan-nothing")


def test_train_gan_cli_writes_a_checkpoint(tmp_path, capsys):
    code = main(
        [
            "train-gan",
            "--dataset",
            "mnist",
            "--epochs",
            "1",
            "--batch-size",
            "256",
            "--width",
            "8",
            "--latent-dim",
            "8",
            "--no-fid",
            "--id",
            "tiny-gan",
            "--out",
            str(tmp_path),
            "--run-dir",
            str(tmp_path / "run"),
            "--quiet",
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["id"] == "tiny-gan" and (tmp_path / "tiny-gan.safetensors").is_file()


def test_train_gan_cli_refuses_to_shadow_a_shipped_gan(tmp_path, capsys):
    if "dcgan-mnist" not in {e["id"] for e in read_manifest(dcgan.checkpoint_dirs()[0], "gans")}:
        pytest.skip("no shipped dcgan-mnist")
    assert main(["train-gan", "--dataset", "mnist", "--out", str(tmp_path), "--quiet"]) == 2
    assert "shipped id" in capsys.readouterr().err


def test_quality_warning_flags_failed_generators_only():
    entry = {"id": "g", "classes": list("abcdefgh"), "metrics": {"fid": 90.0, "fid_real_vs_real": 3.0, "class_accuracy": 0.74}}
    assert dcgan.quality_warning(entry) is None
    near_chance = {**entry, "metrics": {**entry["metrics"], "class_accuracy": 0.124}}
    assert dcgan.quality_warning(near_chance).startswith("g has not learnt its classes: the domain CNN recognises 12.4% ")
    far = {"id": "u", "classes": list("ab"), "metrics": {"fid": 1166.0, "fid_real_vs_real": 3.1}}
    assert "376x the real-vs-real baseline" in dcgan.quality_warning(far)
    assert dcgan.quality_warning({"id": "unscored", "classes": [], "metrics": {}}) is None


def test_no_shipped_gan_is_flagged_since_the_shapes_gans_use_the_projected_recipe():
    shipped = {e["id"]: e for e in read_manifest(dcgan.checkpoint_dirs()[0], "gans")}
    if len(shipped) < 6:
        pytest.skip("the shipped GANs are not all in the manifest")
    assert {gan_id for gan_id, entry in shipped.items() if dcgan.quality_warning(entry)} == set()
    recipes = {gan_id: entry["training"].get("recipe", "dcgan") for gan_id, entry in shipped.items()}
    assert {gan_id: recipe for gan_id, recipe in recipes.items() if recipe.startswith("projected")} == {
        "dcgan-shapes": "projected",
        "cdcgan-shapes": "projected-placed-polygon-heavy-open",
    }
    assert recipes == {config.gan_id: config.recipe for config in shipped_gan_configs()}  # the manifest matches the code
