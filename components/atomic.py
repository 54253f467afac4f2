"""Writing a file so that readers see the old content or the new, never half of it — also when several processes
(the children of a sweep on Dask workers) write the same cache entry at once."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`, unique to this writer; write it, and on leaving the block it replaces
    `path` in one step (os.replace). If the block raises, the temporary file is removed and `path` is untouched.

    A fixed temporary name (`path + ".tmp"`) is not enough: two writers share it, the first one's replace moves the
    second one's half-written file into place, and the second one's replace then finds nothing to move.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
