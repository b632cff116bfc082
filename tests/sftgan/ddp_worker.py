"""Run by tests/sftgan/test_ddp.py under ``torchrun``: train on synthetic shards, write this rank's weights digest."""

import hashlib
import json
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from xai_core.sftgan.data import Pair, Shard
from xai_core.sftgan.training import SFTGANConfig, train_sftgan


def synthetic_shards(seed: int = 0) -> list[Shard]:
    generator = torch.Generator().manual_seed(seed)
    shards = []
    for index in range(2):
        cgmas = (torch.rand(48, 8, 16, 16, generator=generator) * 255).to(torch.uint8)
        image = (torch.rand(48, 3, 16, 16, generator=generator) * 255).to(torch.uint8)
        heldout = torch.arange(48) % 4 == 0
        shards.append(Shard(Pair("synthetic", f"model{index}"), image, cgmas, cgmas[:, -1:].clone(), heldout, [0]))
    return shards


def digest(module: torch.nn.Module) -> str:
    hasher = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        hasher.update(name.encode() + tensor.detach().numpy().tobytes())
    return hasher.hexdigest()


def main(out: Path) -> None:
    built = []
    original_build = SFTGANConfig.build_generator

    def recording_build(config):  # keep a handle on this rank's generator
        built.append(original_build(config))
        return built[-1]

    SFTGANConfig.build_generator = recording_build
    config = SFTGANConfig("lsft", "symbols", epochs=2, batch_size=8, channels=8, condition_channels=4)
    entry = train_sftgan(config, out_dir=out / "checkpoints", run_dir=out / "run", shards=synthetic_shards(), progress=False)
    torch.manual_seed(config.seed)
    initial = digest(original_build(config))
    rank = int(os.environ["RANK"])
    (out / f"rank{rank}.json").write_text(
        json.dumps(
            {
                "rank": rank,
                "world_size": int(os.environ["WORLD_SIZE"]),
                "digest": digest(built[0]),
                "initial": initial,
                "wrote_entry": bool(entry),
                "group_left_open": dist.is_initialized(),
            }
        )
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
