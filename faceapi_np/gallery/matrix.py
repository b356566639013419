"""Every descriptor of a gallery as one matrix, read once and kept in step with the table.

Queries need every descriptor at once. :class:`DescriptorMatrix` reads them into one
float32 matrix and keeps it in step cheaply: face ids only grow (``AUTOINCREMENT``), so
rows added since the last read are those with a larger id, and triggers bump a
``generation`` counter on every delete or relabel, which makes the next read start over.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from ..matching import DESCRIPTOR_SIZE

#: Faces per packed block (2 MiB of descriptors).
BLOCK = 4096


class DescriptorMatrix:
    """All descriptors of ``faces`` in id order, with who and where each came from.

    ``ids`` (N,) face ids; ``person`` (N,) person id or -1; ``indexed`` (N,) bool, True
    for faces found by indexing photos; ``descriptors`` (N, 128) float32; ``labels``
    maps person id to label (read when first asked for).

    Reading a million rows one by one takes seconds, so the rows are also kept packed:
    ``face_blocks`` holds runs of :data:`BLOCK` consecutive faces as four blobs each,
    written by whichever reader first finds that many unpacked rows, and valid while the
    ``generation`` they were packed at is current. A load reads the blocks, then the few
    rows after the last block.
    """

    def __init__(self):
        self.generation = None
        self._clear()

    def _clear(self):
        self.n = 0
        self._ids = np.zeros(0, np.int64)
        self._person = np.zeros(0, np.int64)
        self._indexed = np.zeros(0, bool)
        self._desc = np.zeros((0, DESCRIPTOR_SIZE), np.float32)
        self._labels: dict[int, str] = {}
        self._conn = None

    ids = property(lambda self: self._ids[: self.n])
    person = property(lambda self: self._person[: self.n])
    indexed = property(lambda self: self._indexed[: self.n])
    descriptors = property(lambda self: self._desc[: self.n])

    @property
    def labels(self) -> dict[int, str]:
        """Person id -> label of every person (new persons read incrementally)."""
        top = max(self._labels, default=0)
        rows = self._conn.execute("SELECT id, label FROM persons WHERE id > ?", (top,))
        self._labels.update(rows.fetchall())
        return self._labels

    def refresh(self, conn) -> None:
        """Read what changed since the last call, as one consistent snapshot."""
        self._conn = conn
        conn.execute("BEGIN")  # a read transaction: counter and rows from one snapshot
        try:
            (generation,) = conn.execute(
                "SELECT value FROM meta WHERE key = 'generation'"
            ).fetchone()
            if generation != self.generation:
                self._clear()
                self._conn, self.generation = conn, generation
            last = int(self.ids[-1]) if self.n else 0
            # Blocks tile the table from its first row on, so they continue what this
            # matrix holds only if it ends where a block ends
            aligned = (
                last == 0
                or conn.execute(
                    "SELECT 1 FROM face_blocks WHERE generation = ? AND last_id = ?",
                    (generation, last),
                ).fetchone()
            )
            blocks = conn.execute(
                "SELECT n, ids, person, indexed, descriptors FROM face_blocks "
                "WHERE generation = ? AND first_id > ? ORDER BY first_id",
                (generation, last if aligned else 1 << 62),
            )
            for n, *blobs in blocks:
                self._append(n, *blobs)
            packed = conn.execute(
                "SELECT coalesce(max(last_id), 0) FROM face_blocks WHERE generation = ?",
                (generation,),
            ).fetchone()[0]
            last = int(self.ids[-1]) if self.n else 0
            cur = conn.execute(
                "SELECT id, coalesce(person_id, -1), image_id IS NOT NULL, descriptor "
                "FROM faces WHERE id > ? ORDER BY id",
                (last,),
            )
            while rows := cur.fetchmany(BLOCK):
                ids, person, indexed, blobs = zip(*rows)
                self._append(
                    len(ids),
                    np.array(ids, "<i8").tobytes(),
                    np.array(person, "<i8").tobytes(),
                    np.array(indexed, bool).tobytes(),
                    b"".join(blobs),
                )
        finally:
            conn.execute("COMMIT")
        if np.count_nonzero(self.ids > packed) >= BLOCK:
            self._pack(conn, packed)

    def _pack(self, conn, packed: int) -> None:
        """Write the full runs of rows after the last block as new blocks."""
        start = int(np.searchsorted(self.ids, packed, side="right"))
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:  # read-only file or a long writer: pack next time
            return
        try:
            gen = conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
            top = conn.execute(
                "SELECT coalesce(max(last_id), 0) FROM face_blocks WHERE generation = ?", (gen,)
            ).fetchone()[0]
            if gen != self.generation or top != packed:  # someone else packed, or rows changed
                return
            conn.execute("DELETE FROM face_blocks WHERE generation != ?", (gen,))
            for a in range(start, self.n - BLOCK + 1, BLOCK):
                s = slice(a, a + BLOCK)
                conn.execute(
                    "INSERT INTO face_blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        int(self._ids[a]),
                        int(self._ids[a + BLOCK - 1]),
                        gen,
                        BLOCK,
                        self._ids[s].astype("<i8").tobytes(),
                        self._person[s].astype("<i8").tobytes(),
                        self._indexed[s].tobytes(),
                        self._desc[s].astype("<f4").tobytes(),
                    ),
                )
        finally:
            conn.execute("COMMIT")

    def _append(self, k: int, ids: bytes, person: bytes, indexed: bytes, desc: bytes) -> None:
        if self.n + k > len(self._ids):  # grow by doubling: appends stay O(1) amortised
            cap = max(self.n + k, 2 * len(self._ids), 1024)
            self._ids = _grow(self._ids, cap)
            self._person = _grow(self._person, cap)
            self._indexed = _grow(self._indexed, cap)
            self._desc = _grow(self._desc, cap)
        s = slice(self.n, self.n + k)
        self._ids[s] = np.frombuffer(ids, "<i8")
        self._person[s] = np.frombuffer(person, "<i8")
        self._indexed[s] = np.frombuffer(indexed, bool)
        self._desc[s] = np.frombuffer(desc, "<f4").reshape(k, DESCRIPTOR_SIZE)
        self.n += k


def _grow(a: np.ndarray, cap: int) -> np.ndarray:
    out = np.empty((cap,) + a.shape[1:], a.dtype)
    out[: len(a)] = a
    return out
