"""train-sftgan under torchrun: two CPU processes, DDP over gloo, one code path."""

import json
import os
import subprocess
import sys
from pathlib import Path

from xai_core.models.checkpoints import read_manifest

WORKER = Path(__file__).with_name("ddp_worker.py")
ROOT = Path(__file__).resolve().parents[2]


def test_two_process_ddp_training_keeps_ranks_in_sync(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", str(WORKER), str(tmp_path)]
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert ranks[0]["digest"] == ranks[1]["digest"], "DDP must keep the generators identical on every rank"
    assert ranks[0]["digest"] != ranks[0]["initial"], "training must have changed the weights"
    assert [r["wrote_entry"] for r in ranks] == [True, False]  # only rank 0 writes
    assert not any(r["group_left_open"] for r in ranks)
    entries = read_manifest(tmp_path / "checkpoints", "generators")
    assert [e["id"] for e in entries] == ["lsft-symbols"] and len(entries[0]["history"]) == 2
