"""Validate N mutated protocols and count tracebacks, hangs and problems without a line.

Each mutant is checked by a worker process (``check_protocol`` of the rehab tree given with
--rehab, so the same mutants can be run against an older checkout) under an address-space
limit; a mutant that takes longer than --timeout seconds is a hang: the worker is killed and
a new one started. Peak memory is tracemalloc's peak per answered mutant, and the peak resident memory of a
worker killed for hanging. A traceback is any exception out of ``rehab validate``; a line
without FILE:LINE is any output line that is neither a problem at a line nor a file summary.

Usage:
    python bench/fuzz_validate.py --count 1000 --seed 11              # this tree
    python bench/fuzz_validate.py --count 1000 --seed 11 --rehab ../main   # before
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from rehab.testing.mutants import mutate, shipped_texts, write_mutant  # noqa: E402

WORKER = r"""
import json, resource, sys, time, tracemalloc
limit = int(sys.argv[1]) * 1024 * 1024
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from click.testing import CliRunner
from rehab.cli import main
print("ready", flush=True)
for line in sys.stdin:
    path = line.strip()
    tracemalloc.start()
    start = time.perf_counter()
    out = {"path": path}
    result = CliRunner().invoke(main, ["validate", path, "--videos", sys.argv[2]])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        out["error"] = type(result.exception).__name__ + ": " + str(result.exception)[:200]
    lines = result.output.splitlines()
    out["valid"] = result.exit_code == 0
    summary = (f"{path}: valid - ", f"{path}: INVALID, ")
    out["no_line"] = sum(1 for ln in lines if not ln.startswith(summary)
                         and not (ln.startswith(path + ":") and ln[len(path) + 1 : len(path) + 2].isdigit()))
    out["seconds"] = time.perf_counter() - start
    out["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(json.dumps(out), flush=True)
"""


def _peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), read before it is killed."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Worker:
    def __init__(self, rehab: Path, videos: Path, memory_mb: int) -> None:
        env = dict(os.environ, PYTHONPATH=str(rehab))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", WORKER, str(memory_mb), str(videos)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=rehab,  # `python -c` puts the working folder first on sys.path
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline().strip() == "ready"

    def check(self, path: Path, timeout_s: float) -> dict | None:
        """The worker's answer, or None after killing it when it took over ``timeout_s``."""
        import selectors

        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{path}\n")
        self.proc.stdin.flush()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout_s):
            self.hung_rss_mb = _peak_rss_mb(self.proc.pid)
            self.proc.kill()
            self.proc.wait()
            return None
        line = self.proc.stdout.readline()
        if not line:  # died (e.g. killed by the memory limit)
            self.proc.wait()
            return {"error": f"worker died (exit {self.proc.returncode})", "peak_mb": 0.0}
        return json.loads(line)

    def alive(self) -> bool:
        return self.proc.poll() is None


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    parents = shipped_texts(HERE / "protocols")
    counts = {"mutants": 0, "valid": 0, "tracebacks": 0, "hangs": 0, "no_line": 0}
    peak, slowest, hung_rss, examples = 0.0, 0.0, 0.0, []
    worker = Worker(args.rehab, HERE / "videos", args.memory_mb)
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(args.count):
            path = Path(tmp) / f"m{n:04d}.yaml"
            write_mutant(path, mutate(rng.choice(parents), rng))
            start = time.perf_counter()
            out = worker.check(path, args.timeout)
            counts["mutants"] += 1
            if out is None:
                counts["hangs"] += 1
                hung_rss = max(hung_rss, worker.hung_rss_mb)
                examples.append(f"{path.name}: hang > {args.timeout:g} s")
                worker = Worker(args.rehab, HERE / "videos", args.memory_mb)
                continue
            slowest = max(slowest, time.perf_counter() - start)
            peak = max(peak, out.get("peak_mb", 0.0))
            if "error" in out:
                counts["tracebacks"] += 1
                examples.append(f"{path.name}: {out['error']}")
                if not worker.alive():
                    worker = Worker(args.rehab, HERE / "videos", args.memory_mb)
                continue
            counts["valid"] += bool(out["valid"])
            counts["no_line"] += out["no_line"]
    worker.proc.kill()
    return {**counts, "peak_mb": round(peak, 1), "hung_worker_peak_rss_mb": round(hung_rss),
            "slowest_s": round(slowest, 2),
            "examples": examples[:15]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds that count as a hang")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit")
    parser.add_argument("--rehab", type=Path, default=HERE, help="the rehab tree to check with")
    result = run(parser.parse_args())
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
