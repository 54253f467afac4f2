"""Run every benchmark and print the tables that go into the README. Run: make bench"""

import runpy
import sys
from pathlib import Path

# inception.py needs the FID weights: `python -m components.evaluation.inception fetch` first.
# team_stack.py needs PostgreSQL (apt-get install postgresql) and the team extra (make install has it).
# gpt_int8.py needs a registered GPT with its INT8 graph: `genforge run configs/gpt-sotu.yaml` first.
for script in ("latency.py", "pipeline.py", "data_verify.py", "team_stack.py", "inception.py", "gpt_int8.py"):
    print(f"\n## bench/{script}\n", flush=True)
    sys.argv = [script]
    try:
        runpy.run_path(str(Path(__file__).with_name(script)), run_name="__main__")
    except SystemExit as exc:  # a benchmark that cannot run here says why and the others go on
        if exc.code not in (None, 0):
            print(f"skipped: {exc.code}", flush=True)
    sys.stdout.flush()
