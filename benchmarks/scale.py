"""Measurements of the Scale section: streaming predict vs the in-memory path, Ray 1 vs 2 actors, 2-process vs
1-process training, serve 1 vs 2 workers. Contenders are interleaved within one run; wall and CPU seconds both.

    python benchmarks/scale.py prepare --dir /tmp/scale --ray-rows 96000   # classifier + texts (never committed)
    python benchmarks/scale.py predict --dir /tmp/scale --sizes 20000,200000
    python benchmarks/scale.py ray --dir /tmp/scale --rounds 2
    python benchmarks/scale.py train --dir /tmp/scale
    python benchmarks/scale.py serve --dir /tmp/scale

Every result is appended to DIR/results.jsonl and printed.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PY = sys.executable


def record(directory: Path, row: dict) -> None:
    print(json.dumps(row), flush=True)
    with open(directory / "results.jsonl", "a") as file:
        file.write(json.dumps(row) + "\n")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of a process and every descendant still alive."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


# ---- prepare -------------------------------------------------------------------------------------------------


def prepare(args) -> None:
    from agileclf.workflow import train_from_file

    directory = Path(args.dir)
    directory.mkdir(parents=True, exist_ok=True)
    texts = [json.loads(line)["text"] for line in (SHARED / "sst2" / "train.jsonl").read_text().splitlines()]
    for size in (20_000, 200_000):
        with open(directory / f"texts_{size}.jsonl", "w") as file:
            for i, text in zip(range(size), itertools.cycle(texts), strict=False):
                file.write(json.dumps({"id": i, "text": text}) + "\n")
    shards = directory / "shards"
    shards.mkdir(exist_ok=True)
    parts: list[list[str]] = [[] for _ in range(8)]
    for i, text in zip(range(args.ray_rows), itertools.cycle(texts), strict=False):
        parts[i % 8].append(json.dumps({"id": i, "text": text}) + "\n")
    for k, lines in enumerate(parts):
        (shards / f"part-{k:02d}.jsonl").write_text("".join(lines))
    train_from_file(SHARED / "sst2" / "train.jsonl", "linear-probe", directory / "probe", shots=8, seed=0)
    print(f"prepared {directory}")


# ---- streaming predict vs the in-memory path -------------------------------------------------------------------


def predict_child(args) -> None:
    """One contender in this process; prints wall, CPU and peak RSS."""
    import torch

    from agileclf.methods import load_classifier
    from agileclf.predictions import set_inference

    torch.set_num_threads(args.threads)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    classifier = load_classifier(args.model)
    if args.inference:
        set_inference(classifier, args.inference)
    classifier.predict_proba(["warm-up"])  # builds the ONNX graph (cached) before the clock below
    load_wall = time.perf_counter() - start_wall
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    if args.mode == "stream":
        from agileclf.workflow import predict_file

        source = args.input
        if args.max_rows:
            import itertools as it

            source = Path(args.output).with_suffix(".head.jsonl")
            with open(args.input) as lines:
                source.write_text("".join(it.islice(lines, args.max_rows)))
        rows = predict_file(classifier, source, args.output, resume=False, chunk_rows=args.chunk_rows).written
    else:  # the path before streaming: read everything, one predict_proba call, write everything
        from agileclf.artifact import write_text_atomic
        from agileclf.data.readers import read_examples
        from agileclf.predictions import prediction_rows

        data = read_examples(args.input, "text", label_field=None)
        proba = classifier.predict_proba(data.texts)
        lines = [
            json.dumps({**record, **row}, ensure_ascii=False)
            for record, row in zip(data.records, prediction_rows(proba, classifier.labels.names), strict=True)
        ]
        write_text_atomic(Path(args.output), "\n".join(lines) + "\n")
        rows = len(lines)
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(peak_mb),
                      "load_s": round(load_wall, 2)}))  # fmt: skip


def predict(args) -> None:
    directory = Path(args.dir)
    warm = [PY, __file__, "predict-child", "--mode", "stream", "--model", str(directory / "probe"), "--input",
            str(directory / f"texts_{args.sizes.split(',')[0]}.jsonl"), "--output", str(directory / "warm.jsonl"),
            "--max-rows", "64"] + (["--inference", args.inference] if args.inference else [])  # fmt: skip
    subprocess.run(warm, check=True, capture_output=True)  # builds the ONNX graph once, outside every measurement
    for size in map(int, args.sizes.split(",")):
        modes = args.modes.split(",")
        for round_no in range(args.rounds):
            for mode in modes if round_no % 2 == 0 else modes[::-1]:
                output = directory / f"out_{mode}_{size}.jsonl"
                command = [PY, __file__, "predict-child", "--mode", mode, "--model", str(directory / "probe"),
                           "--input", str(directory / f"texts_{size}.jsonl"), "--output", str(output),
                           "--threads", str(args.threads), "--chunk-rows", str(args.chunk_rows)]  # fmt: skip
                if args.inference:
                    command += ["--inference", args.inference]
                env = {**os.environ, "AGILECLF_QUIET": "1"}
                result = run_sampled(command, env, output, args.max_s)
                result.update(kind="predict", mode=mode, size=size, round=round_no, inference=args.inference,
                              chunk_rows=args.chunk_rows,
                              threads=args.threads, rows_per_s=round(result["rows"] / result["wall_s"], 1))  # fmt: skip
                record(directory, result)
                output.unlink(missing_ok=True)


def run_sampled(command: list[str], env: dict, output: Path, max_s: float) -> dict:
    """Run a predict child; past `max_s` stop it and report what it did so far (rows in its output, wall and CPU
    seconds, peak RSS sampled every 0.5 s), so a run cut short by the lock's time limit still measures something."""
    import psutil

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    watched, peak, cpu, start = psutil.Process(process.pid), 0, 0.0, time.perf_counter()
    while process.poll() is None and time.perf_counter() - start < max_s:
        try:
            peak = max(peak, watched.memory_info().rss)
            times = watched.cpu_times()
            cpu = times.user + times.system
        except psutil.Error:
            pass
        time.sleep(0.5)
    if process.poll() is None:
        process.kill()
        process.wait()
        rows = output.read_bytes().count(b"\n") if output.exists() else 0
        return {"rows": rows, "wall_s": round(time.perf_counter() - start, 2), "cpu_s_incl_load": round(cpu, 2),
                "peak_rss_mb": round(peak / 2**20), "cut_short": True}  # fmt: skip
    stdout, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(stderr[-3000:])
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_rss_sampled_mb"] = round(peak / 2**20)
    return result


# ---- Ray: 1 vs 2 actors ----------------------------------------------------------------------------------------


def ray_child(args) -> None:
    import tempfile

    import ray

    from agileclf.integrations.ray import predict_files

    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    start = time.perf_counter()
    run = predict_files(str(Path(args.dir) / "shards"), args.output, str(Path(args.dir) / "probe"), actors=args.actors,
                        batch_size=256, cpus_per_actor=1, inference=args.inference)  # fmt: skip
    wall = time.perf_counter() - start
    cpu = tree_cpu_s(os.getpid())
    ray.shutdown()
    print(json.dumps({"rows": run.rows, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}))


def ray_bench(args) -> None:
    import shutil

    directory = Path(args.dir)
    labels = {}
    for round_no in range(args.rounds):
        for actors in (1, 2) if round_no % 2 == 0 else (2, 1):
            output = directory / f"ray_out_{actors}"
            shutil.rmtree(output, ignore_errors=True)
            command = [PY, __file__, "ray-child", "--dir", str(directory), "--actors", str(actors),
                       "--output", str(output), "--inference", args.inference]  # fmt: skip
            done = subprocess.run(command, capture_output=True, text=True, check=True, env={**os.environ})
            result = json.loads(done.stdout.strip().splitlines()[-1])
            rows = {}
            for path in output.iterdir():
                for line in path.read_text().splitlines():
                    row = json.loads(line)
                    rows[row["id"]] = row["label"]
            labels.setdefault(actors, rows)
            reference = labels.get(1, {})
            differ = sum(1 for key, label in rows.items() if reference.get(key) != label) if reference else None
            result.update(kind="ray", actors=actors, round=round_no, inference=args.inference,
                          rows_per_s=round(result["rows"] / result["wall_s"], 1),
                          labels_differing_from_1_actor=differ)  # fmt: skip
            record(directory, result)
            shutil.rmtree(output, ignore_errors=True)


# ---- training: 2 processes x 1 thread vs 1 process x 2 threads ------------------------------------------------


def train_bench(args) -> None:
    directory = Path(args.dir)
    data = SHARED / args.dataset / "train.jsonl"
    for round_no in range(args.rounds):
        for processes in (1, 2) if (round_no + args.first_round) % 2 == 0 else (2, 1):
            out = directory / f"train_{processes}"
            threads = str(2 // processes)
            train = ["-m", "agileclf.cli", "train", str(data), "-m", "finetune", "--shots", str(args.shots),
                     "--seed", "0", "-p", f"epochs={args.epochs}", "-p", "patience=100", "-o", str(out)]  # fmt: skip
            if processes == 1:
                command = [PY, *train]
            else:
                launch = ["--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no"]
                command = [PY, "-m", "accelerate.commands.launch", *launch, "--dynamo_backend", "no", *train]
            env = {**os.environ, "OMP_NUM_THREADS": threads, "AGILECLF_QUIET": "1"}
            start = time.perf_counter()
            done = subprocess.run(["/usr/bin/time", "-f", "CPU %U %S", *command], capture_output=True, text=True,
                                  env=env)  # fmt: skip
            wall = time.perf_counter() - start
            if done.returncode:
                raise SystemExit(done.stderr[-3000:])
            fit = float(re.search(r"fit ([\d.]+) s", done.stderr).group(1))
            user, system = map(float, re.search(r"CPU ([\d.]+) ([\d.]+)", done.stderr).groups())
            record(directory, {"kind": "train", "processes": processes, "threads_per_process": int(threads),
                               "round": round_no, "epochs": args.epochs, "fit_s": fit,
                               "fit_s_per_epoch": round(fit / args.epochs, 2), "command_wall_s": round(wall, 1),
                               "command_cpu_s": round(user + system, 1), "dataset": args.dataset,
                               "shots": args.shots})  # fmt: skip
            subprocess.run(["rm", "-rf", str(out)], check=True)


# ---- serve: 1 vs 2 workers ---------------------------------------------------------------------------------------


def serve_bench(args) -> None:
    import httpx

    from agileclf.serve.loadtest import run_loadtest

    directory = Path(args.dir)
    for round_no in range(args.rounds):
        for workers in (1, 2) if round_no % 2 == 0 else (2, 1):
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = sock.getsockname()[1]
            command = [PY, "-m", "agileclf.cli", "serve", f"probe={directory / 'probe'}", "--port", str(port),
                       "--workers", str(workers)]  # fmt: skip
            server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            time.sleep(5 if workers > 1 else 1)  # let every worker finish loading
            run_loadtest(base, concurrency=args.concurrency, requests=200, duration_s=60)  # warm-up
            cpu_before = tree_cpu_s(server.pid)
            summary = run_loadtest(base, concurrency=args.concurrency, requests=args.requests, duration_s=120)
            summary = summary.summary()
            cpu = tree_cpu_s(server.pid) - cpu_before
            server.send_signal(signal.SIGINT)
            server.wait(60)
            record(directory, {"kind": "serve", "workers": workers, "round": round_no, "server_cpu_s": round(cpu, 1),
                               **{k: summary[k] for k in ("requests", "errors", "wall_s", "requests_per_s",
                                                          "p50_ms", "p95_ms", "p99_ms")},
                               "concurrency": args.concurrency})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--dir", required=True)
    p.add_argument("--ray-rows", type=int, default=40_000)
    p = sub.add_parser("predict")
    p.add_argument("--dir", required=True)
    p.add_argument("--sizes", default="20000,200000")
    p.add_argument("--modes", default="stream,memory")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--inference", default="onnx-int8")
    p.add_argument("--max-s", type=float, default=1e9, help="stop a run after this many seconds (partial result)")
    p.add_argument("--chunk-rows", type=int, default=1024)
    p = sub.add_parser("predict-child")
    for name in ("--mode", "--model", "--input", "--output"):
        p.add_argument(name, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--inference", default=None)
    p.add_argument("--chunk-rows", type=int, default=1024)
    p.add_argument("--max-rows", type=int, default=0)
    p = sub.add_parser("ray")
    p.add_argument("--dir", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--inference", default="onnx-int8")
    p = sub.add_parser("ray-child")
    p.add_argument("--dir", required=True)
    p.add_argument("--actors", type=int, required=True)
    p.add_argument("--output", required=True)
    p.add_argument("--inference", default=None)
    p = sub.add_parser("train")
    p.add_argument("--dir", required=True)
    p.add_argument("--dataset", default="ag_news")
    p.add_argument("--shots", type=int, default=32)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--first-round", type=int, default=0, help="1: start with the 2-process contender")
    p = sub.add_parser("serve")
    p.add_argument("--dir", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    handlers = {"prepare": prepare, "predict": predict, "predict-child": predict_child, "ray": ray_bench,
                "ray-child": ray_child, "train": train_bench, "serve": serve_bench}  # fmt: skip
    handlers[args.command](args)


if __name__ == "__main__":
    main()
