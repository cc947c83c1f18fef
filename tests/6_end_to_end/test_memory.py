"""The pipeline's steps hand freed memory back to the system before the next one starts."""

from __future__ import annotations

import ctypes

import psutil

from pipelines.memory import release_freed_memory

MIB = 2**20


def test_memory_freed_inside_the_c_heap_goes_back_to_the_system():
    """6,000 blocks of 64 KiB (under glibc's mmap threshold, so inside its heap) freed below one
    still in use: free() keeps them, the release hands them back."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    process = psutil.Process()
    blocks = [libc.malloc(64 * 1024) for _ in range(6000)]
    try:
        for block in blocks:
            ctypes.memset(block, 1, 64 * 1024)
        for block in blocks[:-1]:
            libc.free(block)
        kept = process.memory_info().rss
        release_freed_memory()
        assert kept - process.memory_info().rss > 300 * MIB
    finally:
        libc.free(blocks[-1])
