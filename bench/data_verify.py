"""What checking data by content costs: DVC's mtime-trusting status vs hashing every byte (what each run now does),
on the materialised Fashion-MNIST (15 shards, 55 MB), side by side in one process. Run: python bench/data_verify.py"""

import statistics
import sys
import time
from pathlib import Path

from components.data import versioning
from components.data.shards import load_split

ROOT = Path(__file__).resolve().parent.parent
DATASET = "fashion-mnist"


def timed(fn, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    if not versioning.is_current(ROOT, DATASET, verify=False):
        sys.exit("data/fashion-mnist is not materialised: run `make data` first")
    versioning.is_current(ROOT, DATASET, verify=True)  # warm the page cache and the imports for both
    stat = timed(lambda: versioning.is_current(ROOT, DATASET, verify=False))
    content = timed(lambda: versioning.is_current(ROOT, DATASET, verify=True))
    load = timed(lambda: load_split(ROOT / "data" / DATASET, "train"), repeats=3)
    print("| check of data/fashion-mnist (55 MB) | median s | vs DVC status |")
    print("| --- | --- | --- |")
    print(f"| DVC status (mtime + size; a flipped byte passes) | {stat:.3f} | 1.00x |")
    print(f"| content hash (every byte; what `genforge run` does) | {content:.3f} | {content / stat:.2f}x |")
    print(f"| for scale: loading the train split for training | {load:.3f} | {load / stat:.2f}x |")


if __name__ == "__main__":
    main()
