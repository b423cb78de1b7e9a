"""Launch tests/methods/distributed_fit.py in one process or under `accelerate launch --multi_gpu --num_processes N`:
on a machine without GPUs that is torchrun with gloo (`--cpu` alone starts one process unless MPI is set up)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).with_name("distributed_fit.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def launch(processes: int, method: str, train: Path, test: Path, out: Path, *options: str, timeout: int = 300):
    """Run the fit in `processes` processes (gloo on CPU); returns each process's record, by rank. The timeout only
    catches a hung job: the finetune test's two launches take about 55 s alone on 2 cores, more beside other tests."""
    env = {**os.environ, "AGILECLF_QUIET": "1", "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    if processes == 1:
        command = [sys.executable, str(SCRIPT)]
    else:
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", str(processes)]
        command += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(SCRIPT)]
    arguments = [method, str(train), str(test), str(out), *options]
    result = subprocess.run([*command, *arguments], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-4000:]
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(processes)]
