"""Is training bit-reproducible? Train the same short run several times, each in a fresh process
with the same seed, and count the distinct weight sets (a hash of last.pt's state_dict).

Run: .venv/bin/python bench/train_repro.py --data out/demo/data --runs 8
     [--threads 1] [--location-weight 0]   (the variants that narrow down where it diverges)

One weight set in every run means reproducible; more means some computation depends on more
than the seed (thread timing, for instance).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ONE_RUN = """
import hashlib, sys, torch
from printability.config import TrainConfig
from printability.train.loop import train
data, out, location_weight = sys.argv[1], sys.argv[2], float(sys.argv[3])
config = TrainConfig(epochs=2, max_train_samples=256, location_weight=location_weight)
train(data, out, config=config, track=False, progress=False)
state = torch.load(f"{out}/last.pt", weights_only=True)["state_dict"]
digest = hashlib.md5()
for key in sorted(state):
    digest.update(state[key].float().numpy().tobytes())
print(digest.hexdigest()[:12])
"""


def one_run(data: Path, location_weight: float, threads: int | None) -> str:
    """The weight hash of one 2-epoch, 256-sample run in a fresh process."""
    env = dict(os.environ)
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", ONE_RUN, str(data), out, str(location_weight)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("out/demo/data"))
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="OMP_NUM_THREADS per run")
    parser.add_argument("--location-weight", type=float, default=1.0)
    args = parser.parse_args()
    hashes = collections.Counter()
    for k in range(args.runs):
        hashes[one_run(args.data, args.location_weight, args.threads)] += 1
        print(f"run {k + 1}/{args.runs}: {dict(hashes)}", flush=True)
    threads = args.threads or "default"
    print(f"threads {threads}, location_weight {args.location_weight}: {len(hashes)} weight "
          f"set(s) in {args.runs} runs; the commonest in {max(hashes.values())}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
