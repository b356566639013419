"""How a tiled kernel numbers its tiles, and which of them each thread takes.

A conv kernel cuts its output into tiles of rows (row tiles of equal size to a row), and,
where the filter outweighs the pixels, each row tile into blocks of output channels
(``faceapi_np/backend/numba_tiling.py`` chooses the sizes). Tile ``i`` is row tile
``i // nblocks``, channel block ``i % nblocks``: a row tile's blocks are consecutive.

Each thread takes one run of consecutive tiles (:func:`thread_tiles`), so a row tile's
channel blocks go to as few threads as can be: a thread gathers a row tile's im2col rows
(``conv2d.py``) or computes its depthwise rows (``separable.py``) once and uses them for
every block of channels it takes, and a separable conv's next row tile starts with two
of its input rows already repacked (``depthwise.row_ring``). Threads taking every other
tile (the earlier rule) split each row tile's blocks between them, and each computed
the same rows: SSD's stride-2 separable conv to 1024 channels (2 row tiles of 4
blocks) did its depthwise rows once on each thread, 180 us a thread of 1.45 ms. In
SSD's planned sequence, in one process alternating with the earlier rule, medians of
20 (ms): that conv 1.51 -> 1.36, the 16x16x1024 one 2.78 -> 2.69, the 16x16 1x1 head
conv 0.70 -> 0.67, the five 32x32x512 ones 2.66-2.71 -> 2.60-2.68; the whole sequence
32.45 -> 31.94 (again: 32.01 -> 31.79). The recognition net at batch 8 15.95 -> 15.78,
the other nets within 1%.

Winograd's bands (``winograd.py``) are still taken every other band: in runs, its
convs in the recognition net at batch 8 (then 21 and 11 bands) took 1.03-1.14x the time
(in one process alternating, medians of 40, twice), and its bands share nothing a run
would reuse.

Which tiles a thread takes never changes what a tile computes: the outputs are the same
bits with any rule and any number of threads.
"""

from __future__ import annotations

from numba import njit


@njit(inline="always")
def thread_tiles(t, nthreads, ntiles):
    """The run of tiles thread ``t`` of ``nthreads`` takes, as ``range`` bounds: the runs
    differ by at most one tile, the longer ones first."""
    share, extra = ntiles // nthreads, ntiles % nthreads
    start = t * share + min(t, extra)
    return start, start + share + (1 if t < extra else 0)


@njit(inline="always")
def tile_bounds(i, nblocks, col_block, cout, tile_rows, rows):
    """Tile ``i`` of a kernel tiled by at most ``tile_rows`` output rows by ``col_block``
    channels: (row tile, first row, end row, first channel, end channel).

    The ``ceil(rows / tile_rows)`` row tiles are of equal size to a row, the tiles one row
    longer taken from both ends in turn (26 rows in 4 tiles: 7, 6, 6, 7), so that the
    threads' runs of tiles are equal shares: with 2 threads, 4 tiles of 7, 7, 7, 5 rows
    gave one thread 54% of the work. A row's values do not depend on its tile.
    """
    rt = i // nblocks
    c0 = (i % nblocks) * col_block
    nrt = (rows + tile_rows - 1) // tile_rows
    r0 = 0
    for j in range(rt):
        r0 += _tile_length(j, nrt, rows)
    return rt, r0, r0 + _tile_length(rt, nrt, rows), c0, min(cout, c0 + col_block)


@njit(inline="always")
def _tile_length(j, nrt, rows):
    """Rows of row tile ``j`` of ``nrt``: ``rows // nrt``, plus one for ``rows % nrt`` of
    them, ranked 0, nrt - 1, 1, nrt - 2, ... (from both ends in turn)."""
    rank = 2 * j if 2 * j < nrt else 2 * (nrt - 1 - j) + 1
    return rows // nrt + (1 if rank < rows % nrt else 0)
