"""How the numba backend cuts a conv into tiles: the sizes, and the rules that use them.

A tile is a block of output rows (and, where the filter outweighs the pixels, of output
channels) that one thread computes whole: its im2col, its product and its epilogue,
in cache (``kernels/numba/conv2d.py``, ``separable.py``, ``winograd.py``). Each constant
says what it bounds and what was measured to choose it. Plain Python: no numba here.
"""

from __future__ import annotations

#: A conv tile's im2col matrix and output are kept under this many floats (1 MiB: L2).
TILE_FLOATS = 256 * 1024
#: Below this many multiply-adds (~5 us on one core) a tile is not worth a thread. With
#: numba's threads spinning between kernels a hand-off costs a few us, so small convs gain
#: from both cores (interleaved, 8 rounds, medians: FaceLandmark68Net at batch 1 3.0 ms
#: with 4M, 2.2 with 1M, 1.8-2.0 with 256K, 1.9-2.1 with 128K or 64K, 2.1 splitting all).
MIN_TILE_MACS = 1 << 18
#: A conv is cut into at least this many tiles when it has the work for them, whatever the
#: thread count: tiles, and so the products' rounding, are the same on any machine and with any
#: number of threads (``index --jobs N`` gives each process a share of the cores, and its
#: results equal a serial run's bit for bit).
SPLIT = 4
#: 3x3 stride-1 convs with at least this many input and output channels, and ...
WINOGRAD_MIN_C = 16
#: ... at least this many 2x2 output tiles (over the batch), use Winograd's F(2x2, 3x3).
#: With its transforms vectorised (``winograd_ir.py``) it is ahead of the direct conv
#: from 16 channels and 16 tiles (2 cores, medians of 100 calls, ms, Winograd / direct):
#: (8, 35, 35, 32) 0.64 / 1.03, (8, 17, 17, 64) 0.55 / 0.96, (8, 8, 8, 128) 0.55 / 0.94,
#: (1, 35, 35, 32) 0.097 / 0.146, (1, 17, 17, 64) 0.095 / 0.151, (1, 8, 8, 64) 0.030 /
#: 0.035, (1, 35, 35, 16) 0.038 / 0.051; with 9 tiles, (1, 6, 6, 64), 0.028 / 0.032 on
#: two cores but the same on one. (With the transforms in plain numba loops, it gained
#: only from 64 channels and 512 tiles.)
WINOGRAD_MIN_TILES = 16
#: Convs of inputs with at most this many channels (every net's first layer) read their
#: receptive fields in a padded copy of the input, with no im2col (``conv2d_few_channels``).
FEW_CHANNELS = 4
#: Stride-1 convs of at least this many channels on maps at least this wide take one
#: product per filter row over padded input rows (``conv_rows.py``). In one process,
#: alternating: (1, 35, 35, 32) 3x3 140 -> 123 us, (8, 35, 35, 32) 1125 -> 922 us, but
#: (1, 17, 17, 64) 128 -> 134 us (shorter rows, fewer of them a tile).
ROWS_MIN_WIDTH = 32
#: Winograd's multiplies (16 a 2x2 tile) at most this fraction of the direct conv's (9 an
#: output pixel): 4/9 where the tiles cover the map, more where the last ones hang over
#: its edge. A 3x3 map (4 tiles for 9 pixels, 0.79) lost, (8, 3, 3, 256) 0.63 against
#: 0.52 ms; 4x4 maps gained, (8, 4, 4, 256) 0.64 against 0.94 and (4, 4, 4, 256) 0.32
#: against 0.47 (the direct conv split by blocks of channels; 2 cores, medians of 60).
WINOGRAD_MAX_WORK = 2 / 3
#: Channels the Winograd transforms take at once (``winograd_ir.VW``).
WINOGRAD_VECTOR = 8
#: Each of a Winograd band's two buffers (transformed inputs, products) is kept under this
#: many floats (256 KiB: both stay in L2; 1M-float bands were slower on the 32-channel
#: layers, the transformed filter being re-read for fewer, larger products).
WINOGRAD_FLOATS = 64 * 1024
#: Depthwise convs and pools below this many multiply-adds / reads run on one thread (as above).
SMALL_OP = 1 << 16
#: Two consecutive separable convs run depth first (``kernels/numba/separable_pair.py``)
#: when the map between them has at least this many floats (8 MiB: SSD's pairs 1-2 and
#: 3-4). Pairs 5-6, (1, 64, 64, 256) -> 256 -> 512, whose 4 MiB map stays in cache, ran
#: depth first too (with 4 MiB here) while the pair kernel beat the two separable
#: kernels there (4.96 -> 4.72 ms in SSD's planned sequence); once each thread took a
#: run of tiles (``kernels/numba/tiles.py``) the two kernels were ahead: the whole net,
#: two net objects alternating in one process, medians of 40, three runs (ms): 31.98 ->
#: 31.70, 31.74 -> 31.53, 32.12 -> 31.52. Pairs 3-4 lost without it (31.48 -> 32.18).
#: The 2 MiB maps after them (32x32x512) stay with the single kernels: with them depth
#: first too, SSD 35.5 -> 36.3 ms (medians of rounds) ...
DEPTH_FIRST_MIN_FLOATS = 2 * 1024 * 1024
#: ... and its channels fill the depthwise kernel's vectors (``depthwise_ir.VW``).
DEPTH_FIRST_VECTOR = 16
#: Convs of at least this many output pixels (and at most 16, fewer than their filters)
#: take the product turned around (``kernels/numba/conv_few_pixels.py``), whose panel is
#: 16 pixels wide whatever their number. With 12 or fewer the usual product's blocks (8
#: rows, then a short block of 4) hold fewer empty rows: the recognition net's two
#: 9-pixel convs at batch 1 in its planned sequence, three runs against two (ms), 0.034-0.035
#: -> 0.027-0.031 ((1, 8, 8, 128) stride 2) and 0.055-0.059 -> 0.047 ((1, 3, 3, 256); one
#: run 0.064). With 16 the turned product was ahead (0.062-0.066 against 0.070-0.077
#: ms); since deep products stopped prefetching (``kernels/numba/gemm.py``) the two take
#: the same time there (0.057-0.058 against 0.055-0.058), and the turned one is kept.
TURNED_MIN_PIXELS = 13
#: Output channels a panel of the packed filter holds (``kernels/numba/block_ir.py``'s
#: ``NR``): a block of channels starts on a panel.
PANEL = 32
#: Rows a block of the product takes (``block_ir.py``'s ``MR``): a Winograd band holds at
#: least this many tiles where the map has them (:func:`winograd_band`).
PRODUCT_ROWS = 8


def channel_block(pixels: int, cout: int) -> int:
    """Output channels per tile: all of them, unless the conv has fewer output pixels than
    filters; then SPLIT blocks (multiples of :data:`PANEL`), so that the threads share
    the reading of the filter instead of each reading all of it (the recognition net's
    256-filter convs at batch 1, 4x4 maps: see kernels/numba/conv2d.py)."""
    if pixels >= cout or cout < 2 * PANEL:
        return cout
    return min(cout, -(-cout // (SPLIT * PANEL)) * PANEL)


def tiles(rows: int, row_floats: int, row_macs: int, pixels: int, cout: int, threads: int):
    """(rows a tile, channels a tile, threads to use) for a conv kernel of ``rows`` output
    rows, with up to ``threads`` threads.

    Each row needs ``row_floats`` of cache (its scratch and its output) and ``row_macs``
    multiply-adds: a tile stays under :data:`TILE_FLOATS` (in L2 for the product and the
    epilogue: SSD 92 -> 76 ms against one tile per thread, interleaved), a tile is worth a
    thread (:data:`MIN_TILE_MACS`), and there are at least :data:`SPLIT` tiles when there
    is the work for them, an even number where one is near (:func:`even_split`); an op
    smaller than one tile's worth of work runs whole on one thread. A conv with fewer
    output ``pixels`` than filters is split by blocks of channels instead
    (:func:`channel_block`). The tiles never depend on the thread count, so neither do
    the results.
    """
    block = channel_block(pixels, cout)
    by_cache = max(1, TILE_FLOATS // row_floats)
    by_work = max(1, -(-MIN_TILE_MACS // row_macs))
    # the filter outweighs the pixels: split its channels, not the rows
    by_split = rows if block < cout else max(1, -(-rows // SPLIT))
    tile = even_split(rows, min(max(by_cache, by_work), by_split)) if by_work < rows else rows
    ntiles = -(-rows // tile) * -(-cout // block)
    return tile, block, min(threads, ntiles)


def even_split(rows: int, tile: int, largest: int = 0) -> int:
    """``tile``, or where it cuts ``rows`` into an odd number of tiles (more than one)
    the largest size at most a quarter smaller, else the smallest up to ``largest``,
    that cuts them into an even number: threads take runs of tiles
    (``kernels/numba/tiles.py``), and 7 tiles on 2 threads give one of them 4/7 of the
    rows, 3 Winograd bands 2/3. FaceLandmark68Net's first block at batch 8 (448
    rows in 7 tiles of 64 -> 8 of 56), nets in one process alternating with and without
    this, medians of 60 (ms): FaceLandmark68Net at batch 8 4.96 -> 4.85 and 4.96 ->
    4.81, FaceLandmark68TinyNet 3.04 -> 2.88 and 2.97 -> 2.83, the age-gender net 9.35 ->
    8.85; the other nets within 1%, the same bits. The recognition net's Winograd bands
    (at batch 1, 9 tile rows in 3 bands of 3 -> 2 of 5; at batch 8 21 and 11 bands -> 24
    and 12), the same way, medians of 80 / 20: at batch 1 3.83 -> 3.61 and 3.52 -> 3.33,
    at batch 8 18.5 -> 17.5 and 18.2 -> 17.9; Tiny Face Detector's first conv (13 tiles
    -> 14) 2.86 -> 2.81."""
    if -(-rows // tile) % 2 == 0 or tile >= rows:
        return tile
    for smaller in range(tile - 1, max(0, tile - tile // 4) - 1, -1):
        if -(-rows // smaller) % 2 == 0:
            return smaller
    for larger in range(tile + 1, min(largest, rows - 1) + 1):
        if -(-rows // larger) % 2 == 0:
            return larger
    return tile


def takes_winograd(tiles: int, pixels: int, cin: int, cout: int) -> bool:
    """Whether a 3x3 stride-1 conv of ``pixels`` output pixels in ``tiles`` 2x2 tiles (over
    the batch) runs by Winograd's F(2x2, 3x3): enough channels and tiles for its products
    to gain (:data:`WINOGRAD_MIN_C`, :data:`WINOGRAD_MIN_TILES`), few enough multiplies
    against the direct conv's (:data:`WINOGRAD_MAX_WORK`), and channels in whole vectors
    of its transforms (``kernels/numba/winograd_ir.py``)."""
    whole = cin % WINOGRAD_VECTOR == 0 and cout % WINOGRAD_VECTOR == 0
    fewer = 16 * tiles <= WINOGRAD_MAX_WORK * 9 * pixels
    return whole and fewer and min(cin, cout) >= WINOGRAD_MIN_C and tiles >= WINOGRAD_MIN_TILES


def row_tile(rows: int, row_floats: int, budget: int) -> int:
    """Rows a tile for kernels tiled by rows alone (few-channel convs, Winograd bands): as
    many as fit ``budget`` floats at ``row_floats`` a row, at least :data:`SPLIT` tiles
    when there are the rows for them, and an even number where a size that fits gives
    one (:func:`even_split`)."""
    largest = max(1, budget // row_floats)
    return even_split(rows, max(1, min(largest, -(-rows // SPLIT))), largest)


def winograd_band(tile_rows: int, tiles_x: int, channels: int) -> int:
    """Tile rows a Winograd band (``kernels/numba/winograd.py``) of a map of ``tile_rows``
    rows of ``tiles_x`` 2x2 tiles, ``channels`` the larger channel count: as
    :func:`row_tile` cuts them (:data:`WINOGRAD_FLOATS`), but at least
    :data:`PRODUCT_ROWS` tiles a band. A band's tiles are the rows of its 16 products:
    the recognition net's (1, 8, 8, 128) convs, 4 rows of 4 tiles, were 4 bands of 4
    tiles, half of every block of the products empty; in 2 bands of 8, 39 -> 27 us (2
    cores, the kernel alone, medians of 1000; its channels split between the threads
    instead, each transforming all 16 tiles: 33 us)."""
    band = row_tile(tile_rows, 16 * channels * tiles_x, WINOGRAD_FLOATS)
    return max(band, min(tile_rows, -(-PRODUCT_ROWS // tiles_x)))


def takes_depth_first(floats: int, channels: int) -> bool:
    """Whether two separable convs with a map of ``floats`` floats and ``channels``
    channels between them run depth first (:data:`DEPTH_FIRST_MIN_FLOATS`,
    :data:`DEPTH_FIRST_VECTOR`)."""
    return floats >= DEPTH_FIRST_MIN_FLOATS and channels % DEPTH_FIRST_VECTOR == 0
