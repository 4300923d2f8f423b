"""The C heap (glibc malloc) under the Python objects: its free pages given back to the system.

malloc keeps the pages of what was freed: start-up's (the lease database's page cache among them; 2 MiB at 4,000
links and 100,000 leases) and the API's large responses. `give_back_free_pages` (`malloc_trim`, about a
millisecond) is called when the server settles for serving (dhcpd/gc_pause.py) and after a burst of API requests
(api/heap.py). Elsewhere than glibc the C heap is left as it is.
"""

from __future__ import annotations

import ctypes

M_ARENA_MAX = -8   # mallopt parameter: the most arenas malloc makes
_libc = ctypes.CDLL(None)   # the symbols the process has loaded, the C library's among them
_GLIBC = hasattr(_libc, "malloc_trim") and hasattr(_libc, "mallopt")


def give_back_free_pages() -> None:
    """The C heap's free pages go back to the system."""
    if _GLIBC:
        _libc.malloc_trim(0)


def share_one_arena() -> None:
    """Threads that malloc from now on use the C heap's arenas that exist instead of each making its own, which
    would keep its free memory apart."""
    if _GLIBC:
        _libc.mallopt(M_ARENA_MAX, 1)
