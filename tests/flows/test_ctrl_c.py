"""Ctrl-C is never lost: Python drops an exception raised inside a finaliser (`__del__`), so with the default
handler a Ctrl-C that lands there vanishes — the CI found a `genforge run` that went on to register a version after
one landed in dulwich's `PackBasedObjectStore.__del__`. GenForge's unraisable-exception hook sends it again,
outside the finaliser."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

from tests.flows.test_crash import ctrl_c_enabled

PROGRAM = textwrap.dedent(
    """
    import sys, time
    from flows.cli import _redeliver_lost_ctrl_c
    if sys.argv[1] == "genforge":
        sys.unraisablehook = _redeliver_lost_ctrl_c

    class Slow:
        def __del__(self):
            time.sleep(1.0)  # the Ctrl-C lands here

    print("ready", flush=True)
    try:
        slow = Slow()
        del slow
        time.sleep(3)
        print("went on", flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    """
)


@pytest.mark.parametrize("hook, expected", [("python", "went on"), ("genforge", "interrupted")])
def test_a_ctrl_c_inside_a_finaliser_is_not_lost(hook, expected):
    child = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, hook],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=ctrl_c_enabled,
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    child.send_signal(signal.SIGINT)
    out, _ = child.communicate(timeout=30)
    assert out.strip().splitlines()[-1] == expected, out
