"""The gallery database: people, their faces and indexed photos in one SQLite file.

A gallery is an SQLite database (the standard library's :mod:`sqlite3`) in WAL mode:
readers never block the writer and the writer never blocks readers, a busy timeout
makes concurrent writers from many processes wait their turn instead of failing, and
every change is one transaction, so a process killed at any moment leaves the database
as it was before the change or after it, never between. (The database is the one file
faceapi_np writes in place rather than through :mod:`faceapi_np.fileio`: SQLite's own
journal gives the same whole-or-nothing guarantee, per transaction.)

Tables
------
``persons``  one row per enrolled person: ``id``, ``label``, ``created``. Labels may repeat,
             as entries of a face-api.js ``FaceMatcher`` may.
``images``   one row per photo seen by :func:`~faceapi_np.gallery.index.index_photos`: path,
             sha256, size, number of faces or the error that stopped it, model, options.
``faces``    one row per face: ``person_id`` (NULL until enrolled or labelled), ``image_id``
             (NULL for enrolled reference faces), the source image's path, sha256 and size,
             the box and score, 68 landmarks and the 128-D descriptor as float32 blobs,
             the model and options that made it, when, and its ``cluster``.
``meta``     schema version, the matcher's distance threshold, and the change counter.

``face_blocks`` the descriptor matrix packed in blobs (see :mod:`.matrix`).
"""

from __future__ import annotations

import os
import sqlite3
import time
from contextlib import contextmanager

import numpy as np

from ..errors import InputError, OutputError
from ..matching import DEFAULT_THRESHOLD, as_descriptor
from .matrix import DescriptorMatrix

SCHEMA_VERSION = 1
#: How long a writer waits for another process's transaction before giving up (ms).
BUSY_TIMEOUT_MS = 60_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('schema', '1'), ('generation', '0');
CREATE TABLE IF NOT EXISTS persons (
    id INTEGER PRIMARY KEY AUTOINCREMENT, label TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS persons_label ON persons (label);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL,
    width INTEGER, height INTEGER, faces INTEGER, error TEXT, model TEXT, options TEXT,
    indexed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS faces (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person_id INTEGER REFERENCES persons (id),
    image_id INTEGER REFERENCES images (id),
    face_index INTEGER, image TEXT, sha256 TEXT, width INTEGER, height INTEGER,
    x REAL, y REAL, w REAL, h REAL, score REAL,
    landmarks BLOB, descriptor BLOB NOT NULL, model TEXT, options TEXT,
    created REAL NOT NULL, cluster INTEGER);
CREATE INDEX IF NOT EXISTS faces_person ON faces (person_id);
CREATE INDEX IF NOT EXISTS faces_image ON faces (image_id);
CREATE INDEX IF NOT EXISTS faces_cluster ON faces (cluster);
CREATE TABLE IF NOT EXISTS face_blocks (
    first_id INTEGER PRIMARY KEY, last_id INTEGER NOT NULL, generation TEXT NOT NULL,
    n INTEGER NOT NULL, ids BLOB, person BLOB, indexed BLOB, descriptors BLOB);
CREATE TRIGGER IF NOT EXISTS faces_deleted AFTER DELETE ON faces BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation'; END;
CREATE TRIGGER IF NOT EXISTS faces_changed AFTER UPDATE OF person_id, descriptor ON faces BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation'; END;
CREATE TRIGGER IF NOT EXISTS persons_changed AFTER UPDATE OF label ON persons BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation'; END;
CREATE TRIGGER IF NOT EXISTS persons_deleted AFTER DELETE ON persons BEGIN
    UPDATE meta SET value = value + 1 WHERE key = 'generation'; END;
"""

#: Columns of ``faces`` that a face record (see :func:`face_row`) fills in.
FACE_COLUMNS = (
    "person_id image_id face_index image sha256 width height x y w h score "
    "landmarks descriptor model options created"
).split()


def descriptor_blob(d, what: str = "descriptor") -> bytes:
    """One descriptor as the 512-byte little-endian float32 blob stored in ``faces``."""
    return as_descriptor(d, what).astype("<f4").tobytes()


def face_row(face: dict, **where) -> tuple:
    """The ``faces`` values (in :data:`FACE_COLUMNS` order) of one face record.

    ``face`` is a ``detect --json`` face object (``box``, ``score``, optional
    ``landmarks``, ``descriptor``); ``where`` gives the other columns (``person_id``,
    ``image``, ``model``, ...).
    """
    box = face.get("box") or {}
    lm = face.get("landmarks")
    values = dict(where)
    values.update(
        x=box.get("x"),
        y=box.get("y"),
        w=box.get("width"),
        h=box.get("height"),
        score=face.get("score"),
        landmarks=None if lm is None else np.asarray(lm, "<f4").tobytes(),
        descriptor=descriptor_blob(face["descriptor"]),
    )
    values.setdefault("created", time.time())
    return tuple(values.get(c) for c in FACE_COLUMNS)


class Store:
    """An open gallery database (created with its schema when missing).

    Parameters
    ----------
    path : str or PathLike
        The database file; ``":memory:"`` for a private in-memory one.
    create : bool
        Create a missing file (default); with False a missing file is an InputError.
    """

    def __init__(self, path: str | os.PathLike, create: bool = True):
        self.path = os.fspath(path)
        if not create and self.path != ":memory:" and not os.path.isfile(self.path):
            raise InputError(
                f"no such gallery database: {self.path} (make one with enroll, "
                "gallery import or index)"
            )
        try:
            # Autocommit mode: every transaction below is an explicit BEGIN ... COMMIT
            self.conn = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Big pages read the packed descriptor blocks in few steps (only takes effect
            # on a new file)
            self.conn.execute("PRAGMA page_size = 65536")
            self.conn.execute("PRAGMA journal_mode = WAL")
            # In WAL mode NORMAL survives a killed process; only a power cut may lose
            # the last commits (never corrupt the file)
            self.conn.execute("PRAGMA synchronous = NORMAL")
            have = self.conn.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN ('meta', 'face_blocks')"
            ).fetchone()[0]
            if have < 2:  # a new file: the schema, in one transaction (a reader needs no lock)
                with self.transaction():
                    for stmt in _statements(_SCHEMA):
                        self.conn.execute(stmt)
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a gallery database: {exc}") from None
        schema = int(self.meta("schema", "0"))
        if schema > SCHEMA_VERSION:
            raise InputError(
                f"{self.path} was written by a newer faceapi_np (schema {schema}); upgrade"
            )
        self._cache = DescriptorMatrix()

    # -- transactions and small helpers ----------------------------------------------

    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE ... COMMIT`` (or ROLLBACK on an exception).

        IMMEDIATE takes the write lock at the start, so two writers never both read and
        then fail to upgrade: the second waits (busy timeout) and then sees the first's rows.
        """
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise OutputError(f"cannot write {self.path}: {exc}") from None
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):  # disk full, I/O error, a locked file ...
                raise OutputError(f"cannot write {self.path}: {exc}") from None
            raise

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else row[0]

    def set_meta(self, key: str, value) -> None:
        with self.transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, str(value)))

    @property
    def distance_threshold(self) -> float:
        """The matcher threshold stored with the gallery (face-api.js's 0.6 by default)."""
        return float(self.meta("distance_threshold", DEFAULT_THRESHOLD))

    def close(self) -> None:
        self.conn.close()

    # -- writing -----------------------------------------------------------------------

    def enroll(self, label: str, faces, threshold: float | None = None) -> int:
        """Add faces under ``label``, all in one transaction; returns the person's id.

        The faces join the first person with that label, or a new person. Each face is
        a descriptor or a ``detect --json``-style dict (``descriptor``, and optionally
        ``box``, ``score``, ``landmarks``, ``image``, ``sha256``, ``width``, ``height``,
        ``model``, ``options``).
        """
        if not isinstance(label, str) or not label:
            raise InputError(f"label must be a non-empty string, got {label!r}")
        records = [f if isinstance(f, dict) else {"descriptor": f} for f in faces]
        if not records:
            raise InputError(f"nothing to enroll for {label!r}: no faces given")
        now = time.time()
        rows = [_row_of(r, now) for r in records]  # checked before the transaction starts
        with self.transaction() as c:
            if threshold is not None and self.meta("distance_threshold") is None:
                c.execute("INSERT INTO meta VALUES ('distance_threshold', ?)", (str(threshold),))
            found = c.execute(
                "SELECT id FROM persons WHERE label = ? ORDER BY id LIMIT 1", (label,)
            ).fetchone()
            pid = found[0] if found else self._new_person(c, label, now)
            self.insert_faces(c, [(pid,) + row[1:] for row in rows])
        return pid

    def add_persons(self, entries, threshold: float | None = None) -> list[int]:
        """Add ``(label, descriptors)`` entries as new persons (duplicates kept), in one
        transaction; returns their ids."""
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, (int, float))
            or not 0 < threshold < float("inf")
        ):
            raise InputError(f"distance threshold must be a positive number, got {threshold!r}")
        now = time.time()
        prepared = []
        for label, descs in entries:
            if not isinstance(label, str) or not label:
                raise InputError(f"label must be a non-empty string, got {label!r}")
            if len(descs) == 0:
                raise InputError(f"{label!r} has no descriptors")
            what = "descriptor {} of " + repr(label)
            prepared.append(
                (label, [descriptor_blob(d, what.format(j)) for j, d in enumerate(descs)])
            )
        ids = []
        with self.transaction() as c:
            if threshold is not None:
                c.execute(
                    "INSERT OR REPLACE INTO meta VALUES ('distance_threshold', ?)",
                    (str(threshold),),
                )
            for label, blobs in prepared:
                pid = self._new_person(c, label, now)
                c.executemany(
                    "INSERT INTO faces (person_id, descriptor, created) VALUES (?, ?, ?)",
                    [(pid, b, now) for b in blobs],
                )
                ids.append(pid)
        return ids

    def _new_person(self, c, label: str, now: float) -> int:
        return c.execute(
            "INSERT INTO persons (label, created) VALUES (?, ?)", (label, now)
        ).lastrowid

    def insert_faces(self, c, rows) -> None:
        cols = ", ".join(FACE_COLUMNS)
        marks = ", ".join("?" * len(FACE_COLUMNS))
        c.executemany(f"INSERT INTO faces ({cols}) VALUES ({marks})", rows)

    # -- reading -----------------------------------------------------------------------

    def persons(self) -> list[tuple[int, str]]:
        """``(id, label)`` of every person, in enrollment order."""
        return self.conn.execute("SELECT id, label FROM persons ORDER BY id").fetchall()

    def matrix(self) -> DescriptorMatrix:
        """Every face's descriptor as one matrix, brought up to date with the table."""
        self._cache.refresh(self.conn)
        return self._cache


def _row_of(record: dict, now: float) -> tuple:
    """A ``faces`` row for an enrolled face (person id filled in later)."""
    where = {k: record.get(k) for k in ("image", "sha256", "width", "height", "model", "options")}
    return face_row(record, person_id=None, created=now, **where)


def _statements(script: str) -> list[str]:
    """The schema's statements one by one (``executescript`` would commit on its own)."""
    out, buf = [], []
    for line in script.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf)
        if text.rstrip().endswith(";") and sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    return out
