"""Between the pipeline's steps, the process hands back the memory the last step freed.

``vitrine pipeline run`` is one process from ingest to the last model, so its peak is the
largest step plus whatever the steps before it freed but the allocators kept for reuse: pyarrow's
pool (mimalloc) its buffers, glibc the blocks pandas and LightGBM freed inside its heaps. At the
large scale, after the forecaster's backtest the process held 1.74 GiB; releasing pyarrow's pool
brought it to 1.15 GiB and ``malloc_trim`` to 0.70 GiB (20 s idle and a garbage collection: no
change; the embedded warehouse's allocator returns its pages within seconds by itself). Without
it, the cross-sell step that follows peaked at 4.13 GiB inside the pipeline against 2.66 GiB
alone (benchmarks/bench_scale.py puts the peak on its step).
"""

from __future__ import annotations

import ctypes
import gc


def release_freed_memory() -> None:
    """Collect cycles, then return pyarrow's and the C library's free memory to the system
    (``malloc_trim``: glibc only; elsewhere the C allocator's own policy stands)."""
    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    if trim is not None:
        trim(0)
