"""Throughput of dataset-scale explanation on the executors (xai_core.jobs): in this process, and on a local Ray
with 1 and 2 model-holding actors; one torch thread per worker everywhere. Wall time of the whole job, actor start-up
included, so it is what a user waits for. Then one epoch of CNN training under torchrun with 1 and 2 DDP processes.

    python benchmarks/scaling.py            # print the table
    python benchmarks/scaling.py --write    # also update the "Measured throughput" section of docs/scaling.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from _report import write_section  # noqa: E402

from xai_core.data.chunks import LocalExecutor  # noqa: E402
from xai_core.jobs.executors import REPOSITORY_ROOT, RayExecutor  # noqa: E402
from xai_core.jobs.tasks import explain_dataset  # noqa: E402

SCALING_DOC = Path(__file__).resolve().parents[1] / "docs" / "scaling.md"
START, END = "<!-- scaling:start -->", "<!-- scaling:end -->"


def measure(executor, split: str, images: int, methods: list[str], chunk_size: int) -> float:
    started = time.perf_counter()
    outputs = explain_dataset("vgg-mnist", "mnist", methods, split, n=images, executor=executor, chunk_size=chunk_size)
    assert len(outputs["index"]) == images
    return time.perf_counter() - started


def measure_ddp(processes: int, images: int, out: Path) -> float:
    """Wall seconds of one epoch of train-cnn (vgg, MNIST) under torchrun with ``processes`` gloo ranks."""
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        str(processes),
        "-m",
        "xai_core",
        "train-cnn",
        "--dataset",
        "mnist",
        "--arch",
        "vgg",
        "--epochs",
        "1",
        "--max-train",
        str(images),
        "--id",
        f"scaling-ddp-{processes}",
        "--out",
        str(out / str(processes)),
        "--quiet",
    ]
    started = time.perf_counter()
    subprocess.run(
        command,
        check=True,
        cwd=REPOSITORY_ROOT,
        capture_output=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPOSITORY_ROOT)},
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", default="train", choices=["train", "test"])
    parser.add_argument("--images", type=int, default=4000, help="the first N images of the MNIST split (4000 train, 1000 test)")
    parser.add_argument("--methods", nargs="+", default=["grad_cam", "lsft"])
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--train-images", type=int, default=3000, help="images of the one training epoch under torchrun")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()

    import ray

    ray.init(
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPOSITORY_ROOT)}},
    )
    runs = [
        ("in this process", 1, LocalExecutor()),
        ("Ray, local cluster", 1, RayExecutor(workers=1, cpus_per_worker=1.0)),
        ("Ray, local cluster", 2, RayExecutor(workers=2, cpus_per_worker=0.75)),
    ]
    rows = []
    for name, workers, executor in runs:
        seconds = measure(executor, args.split, args.images, args.methods, args.chunk_size)
        rows.append((name, workers, seconds, args.images / seconds))
        print(f"{name:<20} workers {workers}: {seconds:7.1f} s  {args.images / seconds:7.1f} images/s", flush=True)
    ray.shutdown()
    with tempfile.TemporaryDirectory() as out:
        ddp = [(processes, measure_ddp(processes, args.train_images, Path(out))) for processes in (1, 2)]
    for processes, seconds in ddp:
        print(f"train-cnn torchrun x{processes}: {seconds:7.1f} s  {args.train_images / seconds:7.1f} images/s", flush=True)
    ddp_table = "\n".join(
        f"| {processes} | {seconds:.1f} | {args.train_images / seconds:.1f} | {ddp[0][1] / seconds:.2f}x |" for processes, seconds in ddp
    )
    baseline = rows[0][3]
    table = "\n".join(
        f"| {name} | {workers} | {seconds:.1f} | {rate:.1f} | {rate / baseline:.2f}x |" for name, workers, seconds, rate in rows
    )
    section = f"""{START}
Command: `python benchmarks/scaling.py --write` — {args.images} MNIST {args.split} images, vgg-mnist, methods
{", ".join(args.methods)}, chunks of {args.chunk_size}, one torch thread per worker; {os.cpu_count()} CPU cores
({platform.processor() or platform.machine()}). Wall time of the whole job, Ray actor start-up included.

| executor | workers | seconds | images/s | vs in-process |
| --- | --- | --- | --- | --- |
{table}

Training: `train-cnn --dataset mnist --arch vgg --epochs 1 --max-train {args.train_images}` under
`torchrun --standalone --nproc_per_node P` (gloo, one thread per rank); wall time of the whole command (start-up,
one epoch, validation and test included).

| processes | seconds | training images/s | vs 1 process |
| --- | --- | --- | --- |
{ddp_table}
{END}"""
    print(section)
    if args.write:
        write_section(START, END, section, SCALING_DOC)


if __name__ == "__main__":
    main()
