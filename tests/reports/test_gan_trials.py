"""The shapes-GAN trials table: rows read from train-gan manifests, the goal (class accuracy >= 80 %, FID within 10x of
the real-vs-real baseline) decided exactly at its boundaries, and the section rendered from the committed summary."""

import pytest
import torch

from xai_core.data import load_dataset
from xai_core.data.synthetic import SHAPE_CLASSES
from xai_core.generative.dcgan import UpsamplingGenerator
from xai_core.metrics.gan_experiments import class_diversity, class_swap_fids, generated_class_diversity
from xai_core.models.checkpoints import save_state_dict, write_manifest_entry
from xai_core.reports import gan_trials


def entry(gan_id: str, recipe: str, fid: float, accuracy: float | None, dataset: str = "shapes") -> dict:
    metrics = {"fid": fid, "fid_real_vs_real": 3.55, "epochs_run": 30, "n_train": 3200}
    if accuracy is not None:
        metrics["class_accuracy"] = accuracy
    return {
        "id": gan_id,
        "dataset": dataset,
        "parameters": 437539,
        "sha256": "0" * 64,
        "metrics": metrics,
        "training": {"recipe": recipe, "conditional": accuracy is not None, "batch_size": 32},
        "command": f"python -m xai_core train-gan --dataset {dataset} --recipe {recipe}",
    }


def test_rows_come_from_the_manifests_in_order_and_only_for_the_dataset(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_manifest_entry(first, entry("cdcgan-shapes", "dcgan", 834.1, 0.115), section="gans")
    write_manifest_entry(first, entry("cdcgan-mnist", "dcgan", 97.9, 0.776, dataset="mnist"), section="gans")
    write_manifest_entry(second, entry("cdcgan-shapes", "projected", 35.5, 0.80), section="gans")
    write_manifest_entry(second, entry("dcgan-shapes", "projected", 35.6, None), section="gans")
    gan_trials.record_gan_trials([first, second], data_dir=tmp_path / "data")
    summary = gan_trials.read_json_summary("gan_trials", tmp_path / "data")
    assert [(r["id"], r["recipe"]) for r in summary["runs"]] == [
        ("cdcgan-shapes", "dcgan"),
        ("cdcgan-shapes", "projected"),
        ("dcgan-shapes", "projected"),
    ]
    assert summary["runs"][0]["steps"] == 30 * 100 and summary["runs"][0]["source"] == str(first)
    assert [gan_trials.meets_goal(r) for r in summary["runs"]] == [False, True, False]  # 35.5 = 10 x 3.55; 35.6 is over
    section = gan_trials.gan_trials_section(tmp_path / "data")
    assert f"| `cdcgan-shapes` | dcgan | `{first}` | 30 | 3,000 | 437,539 | 834.1 | 235.0x | 11.5 % | - | missed |" in section
    assert f"| `dcgan-shapes` | projected | `{second}` | 30 | 3,000 | 437,539 | 35.6 | 10.0x | - | - | missed |" in section
    test = load_dataset("shapes", "test")
    real = class_diversity(test.float_images(), test.labels)
    assert summary["class_diversity_real"] == pytest.approx(real) and 0.1 < real < 0.5
    assert f"the real test images score {real:.3f}" in section
    assert "- `cdcgan-shapes` (projected): `python -m xai_core train-gan --dataset shapes --recipe projected`" in section


def test_an_accuracy_just_under_the_goal_misses_it_and_no_runs_is_an_error(tmp_path):
    assert not gan_trials.meets_goal({"fid": 10.0, "fid_real_vs_real": 3.55, "class_accuracy": 0.7999})
    assert gan_trials.meets_goal({"fid": 10.0, "fid_real_vs_real": 3.55, "class_accuracy": None})
    write_manifest_entry(tmp_path / "m", entry("cdcgan-mnist", "dcgan", 97.9, 0.776, dataset="mnist"), section="gans")
    with pytest.raises(ValueError, match="no shapes GAN in the manifests"):
        gan_trials.record_gan_trials([tmp_path / "m"], data_dir=tmp_path / "data")
    assert "Not recorded yet" in gan_trials.gan_trials_section(tmp_path / "data")


def test_the_goal_sentence_names_each_part():
    row = {"id": "cdcgan-shapes", "fid": 115.0, "fid_real_vs_real": 3.55, "class_accuracy": 0.8087}
    assert gan_trials.goal_sentence(row) == (
        "`cdcgan-shapes`: class accuracy 80.9% (meets the 80% goal), FID 32.4x the baseline (misses the 10x goal)."
    )
    assert gan_trials.goal_sentence({**row, "id": "u", "fid": 30.0, "class_accuracy": None}) == (
        "`u` (unconditional): FID 8.5x the baseline (meets the 10x goal)."
    )


def test_diversity_and_class_swaps_of_a_conditional_run_are_measured_when_its_folder_holds_the_weights(tmp_path):
    torch.manual_seed(0)
    generator = UpsamplingGenerator(latent_dim=4, channels=3, image_size=48, num_classes=8, width=4).eval()
    with_weights, without = tmp_path / "with", tmp_path / "without"
    stored = {**entry("cdcgan-shapes", "projected", 100.0, 0.5), "file": "g.safetensors", "architecture": generator.config()}
    stored["classes"] = list(SHAPE_CLASSES)
    stored["training"] = {**stored["training"], "feature_model": "vgg-shapes"}
    with_weights.mkdir()
    stored["sha256"] = save_state_dict(generator.state_dict(), with_weights / "g.safetensors")
    write_manifest_entry(with_weights, stored, section="gans")
    write_manifest_entry(without, {**stored, "file": "missing.safetensors"}, section="gans")
    gan_trials.record_gan_trials([with_weights, without], data_dir=tmp_path / "data")
    rows = gan_trials.read_json_summary("gan_trials", tmp_path / "data")["runs"]
    assert rows[0]["class_diversity"] == pytest.approx(generated_class_diversity(generator, seed=0)) and rows[1]["class_diversity"] is None
    swapped = class_swap_fids(generator, "shapes", "vgg-shapes", seed=0)
    assert rows[0]["fid_class_swapped"] == {name: round(fid, 3) for name, fid in zip(SHAPE_CLASSES, swapped, strict=True)}
    assert rows[1]["fid_class_swapped"] is None
    section = gan_trials.gan_trials_section(tmp_path / "data")
    assert f"| 50.0 % | {rows[0]['class_diversity']:.3f} | missed |" in section
    costliest = min(rows[0]["fid_class_swapped"], key=rows[0]["fid_class_swapped"].get)
    cells = " | ".join(f"{fid:.1f}" for fid in rows[0]["fid_class_swapped"].values())
    assert f"| `cdcgan-shapes` | `{rows[0]['source']}` | 100.0 | {cells} | {costliest} (100.0 -> " in section
    assert section.count("| `cdcgan-shapes` |") == 3  # two trial rows, one swap row: the run without weights has none


def test_the_diversity_sentence_sets_the_shipped_run_beside_the_trial_closest_to_the_real_images():
    def row(source, recipe, diversity, fid=115.0, accuracy=0.639):
        return {
            "id": "cdcgan-shapes",
            "source": source,
            "recipe": recipe,
            "class_diversity": diversity,
            "fid": fid,
            "class_accuracy": accuracy,
        }

    runs = [row("checkpoints", "projected", 0.05), row("a", "sngan", 0.12), row("b", "projected-diverse", 0.21), row("c", "dcgan", None)]
    assert gan_trials.diversity_sentence(runs, real=0.2) == (
        "The shipped `cdcgan-shapes` varies within a class 25% as much as the real images; the trial closest to the real "
        "images, `projected-diverse` (`b`), 105%, at FID 115.0 and class accuracy 63.9%."
    )
    assert gan_trials.diversity_sentence(runs[1:], real=0.2) == ""


def test_a_run_recorded_into_checkpoints_but_kept_elsewhere_retrains_into_its_own_folder():
    command = "python -m xai_core train-gan --dataset shapes --seed 0 --epochs 30 --conditional --recipe projected"
    moved = {"id": "cdcgan-shapes", "source": "runs/shapes-trials/projected-30", "command": f"{command} --out checkpoints"}
    assert gan_trials.retrain_command(moved) == (
        f"{command} --id cdcgan-shapes-projected-30 --out runs/shapes-trials/projected-30 --run-dir runs/shapes-trials/projected-30/run"
    )
    shipped = {**moved, "source": "checkpoints"}
    assert gan_trials.retrain_command(shipped) == f"{command} --out checkpoints"
    own_id = {"id": "x", "source": "runs/t", "command": f"{command} --id x --out checkpoints"}
    assert gan_trials.retrain_command(own_id) == f"{command} --id x --out runs/t --run-dir runs/t/run"
    elsewhere = {"id": "x", "source": "runs/t", "command": f"{command} --id x --out runs/t"}
    assert gan_trials.retrain_command(elsewhere) == elsewhere["command"]


def test_recording_again_replaces_the_rows_of_the_folders_given_in_place_and_keeps_the_others(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    write_manifest_entry(first, entry("cdcgan-shapes", "dcgan", 834.1, 0.115), section="gans")
    write_manifest_entry(second, entry("cdcgan-shapes", "projected", 115.0, 0.809), section="gans")
    gan_trials.record_gan_trials([first, second], data_dir=tmp_path / "data")
    (first / "manifest.json").unlink()  # the first trial's folder is gone: its row stays on record
    write_manifest_entry(second, entry("cdcgan-shapes", "projected", 30.0, 0.85), section="gans")
    third = tmp_path / "c"
    write_manifest_entry(third, entry("cdcgan-shapes", "projected-deviation", 50.0, 0.9), section="gans")
    gan_trials.record_gan_trials([third, second], data_dir=tmp_path / "data")
    rows = gan_trials.read_json_summary("gan_trials", tmp_path / "data")["runs"]
    assert [(r["source"], r["fid"]) for r in rows] == [(str(first), 834.1), (str(second), 30.0), (str(third), 50.0)]
