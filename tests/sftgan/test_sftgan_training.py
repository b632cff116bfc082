"""SFT-GAN training on tiny synthetic shards: it learns, writes its artefacts, resumes exactly, is seeded."""

import json
import shlex
from dataclasses import asdict

import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from xai_core import cli
from xai_core.models.checkpoints import REPOSITORY_ROOT, USER_CHECKPOINT_DIR, read_manifest, sha256_of
from xai_core.sftgan import training
from xai_core.sftgan.data import Pair, Shard
from xai_core.sftgan.training import SFTGANConfig, train_sftgan, validate


def synthetic_shards(rows: int, seed: int = 0) -> list[Shard]:
    """16x16 samples whose target is the deepest CGMA: smooth 0/1 blobs, every 4th row held out."""
    generator = torch.Generator().manual_seed(seed)
    coarse = (torch.rand(rows, 8, 4, 4, generator=generator) > 0.5).float()
    cgmas = F.interpolate(coarse, size=(16, 16), mode="bilinear", align_corners=False)
    image = torch.rand(rows, 3, 16, 16, generator=generator)
    quantise = lambda maps: (maps.clamp(0, 1) * 255).round().to(torch.uint8)  # noqa: E731
    heldout = torch.arange(rows) % 4 == 0
    return [Shard(Pair("synthetic", "tiny-synthetic"), quantise(image), quantise(cgmas), quantise(cgmas[:, -1:]), heldout, [0])]


def tiny_config(kind: str = "lsft", **changes) -> SFTGANConfig:
    options = dict(epochs=2, batch_size=16, channels=8, condition_channels=4, lr=1e-3)
    options.update(changes)
    return SFTGANConfig(kind, "symbols", **options)


def weights(out_dir, config: SFTGANConfig) -> dict[str, torch.Tensor]:
    return {name: tensor.clone() for name, tensor in load_file(str(out_dir / f"{config.generator_id}.safetensors")).items()}


def assert_same_weights(first: dict, second: dict) -> None:
    assert first.keys() == second.keys()
    assert [name for name in first if not torch.equal(first[name], second[name])] == []


def without_timing(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in record.items() if k != "seconds"} for record in history]


# ---------------------------------------------------------------- one real (tiny) training run


LEARNING = dict(epochs=4, batch_size=8, channels=16, condition_channels=8, lr=3e-3)


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    """A 4-epoch run (144 steps) on 288 training rows; the untrained generator's validation MSE first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # module scope runs before conftest's per-test fixture
    try:
        base = tmp_path_factory.mktemp("learned")
        shards = synthetic_shards(384)
        config = tiny_config(**LEARNING)
        torch.manual_seed(config.seed)  # train_sftgan seeds and builds the generator first, like this
        untrained = validate(config.build_generator(), shards)
        entry = train_sftgan(config, out_dir=base / "out", run_dir=base / "run", shards=shards, progress=False)
        yield {"base": base, "config": config, "shards": shards, "untrained": untrained, "entry": entry}
    finally:
        torch.set_num_threads(threads)


def test_training_lowers_heldout_mse(learned):
    before = learned["untrained"]["val_mse"]
    history = learned["entry"]["history"]
    assert before > 0.05  # a constant map cannot fit 0/1 blobs
    after = history[-1]["val_mse"]
    assert after < 0.5 * before, f"validation MSE {before:.4f} -> {after:.4f}"
    assert history[-1]["val_dice"] > learned["untrained"]["val_dice"] + 0.3  # binarised agreement improves too
    # the written weights are the trained generator: its validation matches the record
    generator = learned["config"].build_generator()
    generator.load_state_dict(weights(learned["base"] / "out", learned["config"]))
    again = validate(generator, learned["shards"])
    assert again["val_mse"] == pytest.approx(after, rel=1e-5)
    assert learned["entry"]["metrics"]["val_mse"] == pytest.approx(after, abs=1e-5)
    assert again["n_val"] == 96 and again["per_pair"]["tiny-synthetic"]["n"] == 96


def test_training_writes_weights_manifest_and_run_files(learned):
    out, run, config = learned["base"] / "out", learned["base"] / "run", learned["config"]
    path = out / "lsft-symbols.safetensors"
    assert path.is_file()
    entries = read_manifest(out, "generators")
    assert [e["id"] for e in entries] == ["lsft-symbols"]
    assert read_manifest(out, "models") == []
    entry = entries[0]
    assert entry == json.loads(json.dumps(learned["entry"]))
    assert entry["file"] == path.name and entry["sha256"] == sha256_of(path)
    assert entry["kind"] == "lsft" and entry["strategy"] == "symbols" and entry["seed"] == 0
    assert entry["architecture"] == {"kind": "lsft", "eta": 8, "channels": 16, "condition_channels": 8}
    assert entry["training"] == asdict(config)
    assert entry["pairs"] == [
        {
            "dataset": "synthetic",
            "model": "tiny-synthetic",
            "split": "train",
            "class_source": "label",
            "heldout_classes": [0],
            "n_train": 288,
            "n_val": 96,
        }
    ]
    assert entry["parameters"] == sum(p.numel() for p in config.build_generator().parameters())
    assert len(entry["history"]) == config.epochs == entry["metrics"]["epochs_run"]
    assert [h["epoch"] for h in entry["history"]] == [1, 2, 3, 4]
    assert entry["command"] == config.command(out)
    assert "--out" in entry["command"]
    for name in ("history.json", "loss_curves.png", "state.pt"):
        assert (run / name).is_file(), name
    assert json.loads((run / "history.json").read_text()) == entry["history"]
    assert (run / "loss_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    state = torch.load(run / "state.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 4 and json.loads(state["config"]) == asdict(config)
    assert json.loads(state["history"]) == entry["history"]
    assert_same_weights({k: v for k, v in state["generator"].items()}, weights(out, config))
    assert not list(run.glob("*.tmp"))


# ---------------------------------------------------------------- resuming and determinism


@pytest.fixture
def recorded_epochs(monkeypatch):
    """The epochs train_sftgan asks batches for."""
    epochs = []
    original = training.training_batches

    def recording(shards, batch_size, seed, epoch, *args, **kwargs):
        epochs.append(epoch)
        return original(shards, batch_size, seed, epoch, *args, **kwargs)

    monkeypatch.setattr(training, "training_batches", recording)
    return epochs


def test_resuming_continues_exactly_where_it_stopped(tmp_path, recorded_epochs):
    shards = synthetic_shards(64)
    first = train_sftgan(tiny_config(epochs=2), out_dir=tmp_path / "a2", run_dir=tmp_path / "run", shards=shards, progress=False)
    assert recorded_epochs == [1, 2] and len(first["history"]) == 2
    resumed = train_sftgan(tiny_config(epochs=3), out_dir=tmp_path / "a3", run_dir=tmp_path / "run", shards=shards, progress=False)
    assert recorded_epochs == [1, 2, 3], "a resumed run trains only the missing epoch"
    assert len(resumed["history"]) == 3 and resumed["history"][:2] == first["history"]
    assert json.loads((tmp_path / "run" / "history.json").read_text()) == resumed["history"]
    state = torch.load(tmp_path / "run" / "state.pt", map_location="cpu", weights_only=True)
    assert state["epoch"] == 3
    # stopping after 2 epochs and resuming gives the very same generator as 3 epochs in one go
    straight = train_sftgan(tiny_config(epochs=3), out_dir=tmp_path / "b3", run_dir=tmp_path / "straight", shards=shards, progress=False)
    assert_same_weights(weights(tmp_path / "a3", tiny_config()), weights(tmp_path / "b3", tiny_config()))
    assert without_timing(straight["history"]) == without_timing(resumed["history"])
    assert straight["sha256"] == resumed["sha256"]


def test_a_different_configuration_refuses_to_resume(tmp_path, recorded_epochs):
    shards = synthetic_shards(32)
    train_sftgan(tiny_config(epochs=1), out_dir=tmp_path / "out", run_dir=tmp_path / "run", shards=shards, progress=False)
    for changed in (tiny_config(epochs=2, lr=5e-4), tiny_config(epochs=2, seed=1), tiny_config(epochs=2, kind="gsft")):
        with pytest.raises(ValueError, match="different configuration"):
            train_sftgan(changed, out_dir=tmp_path / "out", run_dir=tmp_path / "run", shards=shards, progress=False)
    assert recorded_epochs == [1]
    # without resuming, the same run dir starts from scratch
    fresh = train_sftgan(
        tiny_config(epochs=2, lr=5e-4), out_dir=tmp_path / "out", run_dir=tmp_path / "run", shards=shards, resume=False, progress=False
    )
    assert recorded_epochs == [1, 1, 2] and [h["epoch"] for h in fresh["history"]] == [1, 2]


def test_same_seed_gives_identical_weights_other_seed_does_not(tmp_path):
    shards = synthetic_shards(48)
    runs = {}
    for name, seed in (("first", 0), ("second", 0), ("other", 1)):
        config = tiny_config(seed=seed)
        train_sftgan(config, out_dir=tmp_path / name, run_dir=tmp_path / f"run-{name}", shards=shards, progress=False)
        runs[name] = weights(tmp_path / name, config)
    assert_same_weights(runs["first"], runs["second"])
    assert any(not torch.equal(runs["first"][k], runs["other"][k]) for k in runs["first"])


def test_l1_reconstruction_trains(tmp_path):
    shards = synthetic_shards(48)
    records = {}
    for loss in ("mse", "l1"):
        config = tiny_config(epochs=1, reconstruction=loss)
        entry = train_sftgan(config, out_dir=tmp_path / loss, run_dir=tmp_path / f"run-{loss}", shards=shards, progress=False)
        assert entry["training"]["reconstruction"] == loss
        records[loss] = entry["history"][0]
    per_pair = records["l1"].pop("val_dice_per_pair")  # held-out Dice of each pair this epoch
    assert all(torch.isfinite(torch.tensor(v)) for v in records["l1"].values())
    assert per_pair and all(0 <= dice <= 1 for dice in per_pair.values())
    # |error| > error^2 for errors below 1: the L1 record is the mean absolute error, not the squared one
    assert records["l1"]["reconstruction"] > 1.5 * records["mse"]["reconstruction"]
    assert records["l1"]["reconstruction"] < 1


def test_gsft_trains_and_is_recorded_as_gsft(tmp_path):
    config = tiny_config(epochs=1, kind="gsft")
    entry = train_sftgan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", shards=synthetic_shards(32), progress=False)
    assert entry["id"] == "gsft-symbols" and (tmp_path / "out" / "gsft-symbols.safetensors").is_file()
    assert entry["architecture"]["kind"] == "gsft"


# ---------------------------------------------------------------- configuration


def test_default_command():
    config = SFTGANConfig("lsft", "symbols")
    assert config.generator_id == "lsft-symbols"
    # the dataclass and the CLI agree on every default, so the default command names no option
    parsed = cli.build_parser().parse_args(["train-sftgan", "--kind", "lsft", "--strategy", "symbols"])
    for name, flag in (
        ("seed", "seed"),
        ("epochs", "epochs"),
        ("batch_size", "batch_size"),
        ("lr", "lr"),
        ("lambda_reconstruction", "lambda_reconstruction"),
        ("reconstruction", "reconstruction"),
        ("channels", "channels"),
        ("per_pair", "per_pair"),
        ("holdout_fraction", "holdout_fraction"),
    ):
        assert getattr(config, name) == getattr(parsed, flag), name
    assert config.command() == f"python -m xai_core train-sftgan --kind lsft --strategy symbols --seed 0 --epochs {config.epochs}"
    assert config.command(USER_CHECKPOINT_DIR) == config.command()
    assert config.command(REPOSITORY_ROOT / "checkpoints") == config.command() + " --out checkpoints"


def test_command_with_options_round_trips_through_the_cli(tmp_path, monkeypatch):
    config = SFTGANConfig(
        "gsft",
        "objects",
        seed=3,
        epochs=7,
        batch_size=16,
        lr=1e-3,
        lambda_reconstruction=10.0,
        reconstruction="l1",
        channels=16,
        per_pair=200,
        holdout_fraction=0.3,
        generator_id="pytest-mine",
    )
    command = config.command(tmp_path)
    argv = shlex.split(command)
    assert argv[:4] == ["python", "-m", "xai_core", "train-sftgan"]
    assert argv[argv.index("--out") + 1] == str(tmp_path.resolve())
    received = {}

    def fake_train(parsed, out_dir, **kwargs):
        received.update(config=parsed, out_dir=out_dir)
        return {"id": parsed.generator_id, "file": "x.safetensors", "parameters": 1, "metrics": {}}

    monkeypatch.setattr("xai_core.cli.training.train_sftgan", fake_train)  # the trainer the command calls
    assert cli.main(argv[3:] + ["--quiet"]) == 0
    assert asdict(received["config"]) == asdict(config)
    assert received["config"].command(received["out_dir"]) == command


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(kind="xyz"), "kind"),
        (dict(strategy="faces"), "strategy"),
        (dict(reconstruction="huber"), "reconstruction"),
    ],
)
def test_invalid_configurations(changes, message):
    options = {"kind": "lsft", "strategy": "symbols", **changes}
    with pytest.raises(ValueError, match=message):
        SFTGANConfig(**options)


def test_keep_best_writes_the_epoch_with_the_best_heldout_dice(tmp_path):
    """Under --keep-best the written generator is the best validation epoch's, whichever epoch came last."""
    torch.set_num_threads(1)
    config = tiny_config(epochs=3, keep_best=True, lr=3e-2)  # a large step: validation Dice moves between epochs
    entry = train_sftgan(config, out_dir=tmp_path / "out", run_dir=tmp_path / "run", shards=synthetic_shards(96), progress=False)
    best = max(entry["history"], key=lambda record: record["val_dice"])
    assert entry["metrics"]["best_epoch"] == best["epoch"]
    assert entry["metrics"]["val_dice"] == pytest.approx(best["val_dice"], abs=1e-4)
    assert_same_weights(weights(tmp_path / "out", config), dict(load_file(str(tmp_path / "run" / "best.safetensors"))))
    assert entry["command"].endswith("--keep-best --out " + str(tmp_path / "out"))
