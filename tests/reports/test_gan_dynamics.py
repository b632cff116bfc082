"""GAN training dynamics over training seeds (unified framework, "generator-discriminator dynamics"): exact means and
stds of constructed histories, the rendered table and its notes, and seeds trained from a shipped configuration."""

import pytest

from xai_core.generative.training import GANConfig
from xai_core.reports import gan_dynamics


def history(d_real: list[float], d_fake: list[float], loss_g: float = 2.0) -> list[dict]:
    return [
        {"epoch": e + 1, "d_real": r, "d_fake": f, "loss_g": loss_g + e, "loss_d": 1.0, "seconds": 1.0}
        for e, (r, f) in enumerate(zip(d_real, d_fake, strict=True))
    ]


def test_mean_and_sample_std_per_epoch_over_seeds():
    summary = gan_dynamics.dynamics_over_seeds({2: history([0.9, 0.6], [0.1, 0.3], 1.0), 0: history([0.7, 0.6], [0.1, 0.5], 3.0)})
    assert summary["seeds"] == [0, 2]
    first, last = summary["epochs"]
    assert first["epoch"] == 1 and last["epoch"] == 2
    assert first["d_real"]["mean"] == pytest.approx(0.8) and first["d_real"]["std"] == pytest.approx(0.1414213562)  # sqrt(0.02)
    assert first["d_fake"] == {"mean": pytest.approx(0.1), "std": 0.0}
    assert last["loss_g"]["mean"] == pytest.approx(3.0) and last["loss_g"]["std"] == pytest.approx(1.4142135624)
    with pytest.raises(ValueError, match=r"different numbers of epochs: \[1, 2\]"):
        gan_dynamics.dynamics_over_seeds({0: history([0.9], [0.1]), 1: history([0.9, 0.6], [0.1, 0.3])})


@pytest.fixture
def tiny_shipped(monkeypatch):
    """One shipped GAN, ``tiny``: a 1-epoch digits DCGAN whose seed-0 history is constructed."""
    config = GANConfig("digits", epochs=1, batch_size=500, width=4, latent_dim=8, gan_id="tiny")
    shipped = {"history": history([0.9], [0.2]), "sha256": "seed0"}
    monkeypatch.setattr(gan_dynamics, "shipped_gan_configs", lambda: [config])
    monkeypatch.setattr(gan_dynamics, "gan_info", lambda gan_id: shipped)
    return shipped


def test_seeds_one_and_two_retrain_the_shipped_configuration_and_are_reused(tmp_path, tiny_shipped):
    path = gan_dynamics.record_gan_dynamics(["tiny"], data_dir=tmp_path / "data", root=tmp_path / "runs")
    assert path == tmp_path / "data" / "gan_dynamics.json"
    histories = gan_dynamics.seed_histories("tiny", root=tmp_path / "runs")
    assert histories[0] == tiny_shipped["history"] and len(histories[1]) == len(histories[2]) == 1
    assert histories[1] != histories[2]  # different seeds, different training
    for seed in (1, 2):
        run = tmp_path / "runs" / f"tiny-seed{seed}"
        assert (run / "state.pt").is_file() and f"--seed {seed} " in (run / "manifest.json").read_text()
    section = gan_dynamics.gan_dynamics_section(["tiny", "other"], data_dir=tmp_path / "data")
    assert "| `tiny` | 0, 1, 2 | 1 |" in section
    other = "| `other` | 0 | 1 | 0.90 / 0.20 (epoch 1) |"  # not recorded: the shipped seed's manifest history
    assert other in section
    assert "Seeds 1 and 2 not recorded yet for `other`: their rows are the shipped seed 0 alone" in section
    assert "(`python -m xai_core report-results --gan-dynamics other` trains the other seeds)" in section
    with pytest.raises(ValueError, match="'nope' is not a shipped GAN; shipped: tiny"):
        gan_dynamics.seed_histories("nope", root=tmp_path / "runs")


def test_the_table_rows_the_gap_sentence_and_stale_entries(tmp_path, tiny_shipped):
    summary = gan_dynamics.dynamics_over_seeds({0: history([0.9, 0.7, 0.6], [0.1, 0.3, 0.4]), 1: history([0.9, 0.7, 0.6], [0.1, 0.3, 0.4])})
    gan_dynamics.write_json_summary("gan_dynamics", {"tiny": {"sha256": "seed0", **summary}}, tmp_path)
    section = gan_dynamics.gan_dynamics_section(["tiny"], data_dir=tmp_path)
    assert (
        "| `tiny` | 0, 1 | 3 | 0.90 ± 0.00 / 0.10 ± 0.00 (epoch 1) | 0.70 ± 0.00 / 0.30 ± 0.00 (epoch 2) "
        "| 0.60 ± 0.00 / 0.40 ± 0.00 (epoch 3) | 4.00 ± 0.00 / 1.00 ± 0.00 | 0.20 |" in section
    )
    assert "smaller at the last epoch than at the first for 1 of 1 GANs (`tiny`)" in section
    assert "retrained after these runs" not in section
    tiny_shipped["sha256"] = "retrained"
    assert "`tiny` were retrained after these runs: `report-results --gan-dynamics tiny`." in gan_dynamics.gan_dynamics_section(
        ["tiny"], data_dir=tmp_path
    )
