"""``report-results --gan-only --gan-datasets``: only the named datasets' GAN experiments are recorded again, merged into
the committed summary, whose other entries stay as they were and where they were."""

from xai_core.cli.main import main
from xai_core.metrics.gan_experiments import GAN_EXPERIMENT_SECTIONS, merge_gan_experiments
from xai_core.reports import results
from xai_core.reports.summaries import read_json_summary, write_json_summary


def summary(**sections: dict) -> dict:
    return {section: dict(sections.get(section, {})) for section in GAN_EXPERIMENT_SECTIONS}


def test_fresh_entries_replace_recorded_ones_in_place_and_new_ones_come_last():
    recorded = summary(fid={"dcgan-mnist": 1, "cdcgan-shapes": 2, "dcgan-glyphs": 3}, tcav={"vgg-mnist": "a"})
    fresh = summary(fid={"cdcgan-shapes": 20, "dcgan-new": 5}, yardsticks={"shapes": "y"})
    merged = merge_gan_experiments(recorded, fresh)
    assert list(merged["fid"].items()) == [("dcgan-mnist", 1), ("cdcgan-shapes", 20), ("dcgan-glyphs", 3), ("dcgan-new", 5)]
    assert merged["tcav"] == {"vgg-mnist": "a"} and merged["yardsticks"] == {"shapes": "y"}
    assert list(merged) == list(GAN_EXPERIMENT_SECTIONS)
    assert recorded["fid"]["cdcgan-shapes"] == 2  # the recorded summary is left as it was


def test_record_gan_with_datasets_runs_only_those_and_merges(tmp_path, monkeypatch):
    write_json_summary("gan_experiments", summary(fid={"dcgan-mnist": 1, "dcgan-shapes": 2}), tmp_path)
    asked = []

    def run(rerun=False, on_progress=None, datasets=None):
        asked.append(tuple(datasets))
        return summary(fid={"dcgan-shapes": 22}, gans={"dcgan-shapes": "sha"})

    monkeypatch.setattr(results, "run_gan_experiments", run)
    results.record_gan(data_dir=tmp_path, datasets=["shapes"])
    assert asked == [("shapes",)]
    recorded = read_json_summary("gan_experiments", tmp_path)
    assert recorded["fid"] == {"dcgan-mnist": 1, "dcgan-shapes": 22} and recorded["gans"] == {"dcgan-shapes": "sha"}


def test_gan_datasets_needs_gan_only(capsys):
    assert main(["report-results", "--gan-datasets", "shapes"]) == 2
    assert "add --gan-only" in capsys.readouterr().err
