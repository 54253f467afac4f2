"""Run every benchmark and print the tables that go into the README. Run: make bench"""

import runpy
import sys
from pathlib import Path

# inception.py needs the FID weights: `python -m components.evaluation.inception fetch` first.
for script in ("latency.py", "pipeline.py", "inception.py"):
    print(f"\n## bench/{script}\n", flush=True)
    runpy.run_path(str(Path(__file__).with_name(script)), run_name="__main__")
    sys.stdout.flush()
