"""Indexing a photo collection: every face of every photo into a gallery database.

:func:`index_photos` walks folders recursively, runs detection, landmarks and
descriptors on each photo (or, with ``crops=True``, takes each image as one face crop)
and stores every face with its photo's path, size and sha256, box, score, landmarks,
descriptor and the model and options that made it. It is built for big collections:

- **Resumable.** A photo whose path and content hash are already indexed is skipped, so a
  second run finishes what a killed run left; each photo is written in its own
  transaction, so a kill loses at most the photos in flight.
- **Errors don't stop it.** A photo that cannot be read is recorded with its error (and
  tried again next run); only errors that concern every photo (missing weights, a broken
  backend) end the run.
- **Parallel.** ``jobs=N`` runs N worker processes; ``dask="local"`` starts a Dask
  LocalCluster, ``dask="tcp://host:8786"`` uses an existing Dask cluster. Each worker
  loads the nets once; results are written as they complete, in whatever order, and
  are the same as a serial run's (faces are ordered by path and rank when read back).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BackendError, FaceApiError, OptionsError, WeightsError
from .store import Store, face_row

#: File endings taken from folders (as ``detect`` takes them).
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".npy")
LANDMARK_NETS = ("full", "tiny")


@dataclass(frozen=True)
class IndexSettings:
    """What to run on each photo; sent to every worker, so it stays small and picklable."""

    options: object = None  # detector options; None: SSD MobileNetV1 defaults
    landmarks: str = "full"
    crops: bool = False
    alignment: str = "faceapi"
    exif: bool = True
    backend: str | None = None

    @property
    def detector(self) -> str:
        from ..api import detector_name
        from ..ssd_mobilenetv1 import SsdMobilenetv1Options

        return "crops" if self.crops else detector_name(self.options or SsdMobilenetv1Options())

    @property
    def model(self) -> str:
        """The nets that make a face, with the package version (stored with every face)."""
        from .. import __version__

        chain = [self.detector]
        if not self.crops:
            chain.append("landmarks_tiny" if self.landmarks == "tiny" else "landmarks")
        return f"faceapi_np {__version__}: " + "+".join(chain + ["recognition"])

    @property
    def options_json(self) -> str:
        """The detector options and chain settings as JSON (stored with every face)."""
        opts = dataclasses.asdict(self.options) if self.options is not None else {}
        opts.update(landmarks=self.landmarks, alignment=self.alignment, exif=self.exif)
        return json.dumps(opts, sort_keys=True)


@dataclass
class IndexReport:
    """What a run did: photos found, newly indexed, skipped as already indexed, failed."""

    photos: int = 0
    indexed: int = 0
    skipped: int = 0
    faces: int = 0
    failed: list = field(default_factory=list)  # (path, error)


def find_photos(paths) -> tuple[list[str], list[tuple[str, str]]]:
    """Image files under ``paths`` as absolute paths (folders walked recursively, in name
    order), and the ``(path, error)`` of paths that do not exist."""
    found, missing = [], []
    for p in paths:
        p = Path(os.path.abspath(p))
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                found += [
                    os.path.join(root, f)
                    for f in sorted(files)
                    if Path(f).suffix.lower() in IMAGE_SUFFIXES
                ]
        elif p.exists():
            found.append(str(p))
        else:
            missing.append((str(p), "no such file or folder"))
    return found, missing


def file_sha256(path: str) -> str:
    """The hex sha256 of a file's bytes (what makes a photo "already indexed")."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


#: Dask workers may run several tasks at once in threads; the first loads the nets.
_NETS_LOCK = threading.Lock()


def _load_nets(settings: IndexSettings) -> None:
    """Load the nets this run needs, once per process (and once per threaded Dask worker)."""
    from ..nets import get_net

    with _NETS_LOCK:
        if not settings.crops:
            get_net(settings.detector)
            get_net("landmarks_tiny" if settings.landmarks == "tiny" else "landmarks")
        get_net("recognition")


def worker_thread_env(workers: int) -> dict:
    """Environment for one of ``workers`` processes sharing this machine's cores.

    Each process gets its share of the cores for numba's (and BLAS's) threads: with every
    process using them all, the numba backend's threads, which spin briefly between
    kernels, wait on each other's time slices.
    """
    threads = str(max(1, (os.cpu_count() or 1) // max(1, workers)))
    return {"NUMBA_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}


def _start_worker(settings: IndexSettings, env: dict) -> None:
    """A ``--jobs`` worker process: its thread share (before numba loads), then the nets."""
    os.environ.update(env)
    _load_nets(settings)


def analyse_photo(path: str, settings: IndexSettings) -> dict:
    """One photo's ``detect --json`` record with landmarks and descriptors, or
    ``{"image", "error"}``. Runs in the workers; raises only for errors of the whole run."""
    from ..api import detect_all_faces, face_crop_results
    from ..image import load_image

    _load_nets(settings)
    try:
        img = load_image(path, exif=settings.exif)
        if settings.crops:  # the whole image is the face (face-api.js computeFaceDescriptor)
            found = face_crop_results(img, settings.backend)
        else:
            found = detect_all_faces(img, settings.options, settings.backend)
            found = found.with_face_landmarks(settings.landmarks == "tiny", settings.backend)
        found = found.with_face_descriptors(settings.alignment, settings.backend)
        faces = found.as_dicts()
    except (WeightsError, BackendError):
        raise
    except Exception as exc:  # noqa: BLE001  one bad photo must not end a long run
        what = str(exc) if isinstance(exc, FaceApiError) else f"{type(exc).__name__}: {exc}"
        return {"image": path, "error": what}
    return {
        "image": path,
        "width": int(img.shape[1]),
        "height": int(img.shape[0]),
        "backend": found.backend,
        "detector": settings.detector,
        "faces": faces,
    }


def index_photos(
    paths,
    db,
    *,
    jobs: int = 1,
    dask: str | None = None,
    options=None,
    landmarks: str = "full",
    crops: bool = False,
    alignment: str = "faceapi",
    exif: bool = True,
    backend: str | None = None,
    on_record=None,
    progress=None,
) -> IndexReport:
    """Index every face of the photos under ``paths`` into the gallery database ``db``.

    Parameters
    ----------
    paths : list of str or Path
        Photos and folders (walked recursively).
    db : str, Path, Gallery or Store
        The gallery database (created if missing).
    jobs : int
        Worker processes (1: in this process). With ``dask="local"``, the worker count.
    dask : None, "local" or a scheduler address
        Run on a Dask LocalCluster or an existing cluster (needs ``dask[distributed]``,
        the ``scale`` extra; workers must see the same paths, the weights and faceapi_np).
    options : detector options, optional
        As for :func:`~faceapi_np.detect_all_faces`; default SSD MobileNetV1.
    landmarks, crops, alignment, exif, backend
        As ``detect``'s flags: landmark net (``"full"``/``"tiny"``), images that are face
        crops, face alignment, EXIF orientation, compute backend.
    on_record : callable, optional
        Called in this process with each photo's record as it is stored (``detect --json``
        schema with landmarks and descriptors, or ``{"image", "error"}``).
    progress : callable, optional
        ``progress(done, total, path)`` after each photo.

    Returns
    -------
    IndexReport
    """
    if landmarks not in LANDMARK_NETS:
        raise OptionsError(f"landmarks must be one of {LANDMARK_NETS}, got {landmarks!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise OptionsError(f"jobs must be a positive whole number, got {jobs!r}")
    settings = IndexSettings(options, landmarks, crops, alignment, exif, backend)
    settings.model  # noqa: B018  checks the options before any work starts
    if isinstance(db, (str, os.PathLike)):
        store = Store(db)
        try:
            return _index(paths, store, settings, jobs, dask, on_record, progress)
        finally:
            store.close()
    return _index(paths, getattr(db, "store", db), settings, jobs, dask, on_record, progress)


def _index(paths, store, settings, jobs, dask, on_record, progress) -> IndexReport:
    files, missing = find_photos(paths)
    report = IndexReport(photos=len(files) + len(missing))

    def failed(path: str, error: str) -> None:
        record = {"image": path, "error": error}
        _store_record(store, record, "", settings)
        report.failed.append((path, error))
        if on_record is not None:
            on_record(record)

    for path, error in missing:
        failed(path, error)
    known = {
        p: (sha, err)
        for p, sha, err in store.conn.execute("SELECT path, sha256, error FROM images")
    }
    todo = {}
    for path in files:
        try:
            sha = file_sha256(path)
        except OSError as exc:
            failed(path, f"cannot read: {exc.strerror or exc}")
            continue
        if known.get(path) == (sha, None):
            report.skipped += 1
        else:
            todo[path] = sha
    done = report.skipped + len(report.failed)
    for record in _results(list(todo), settings, jobs, dask):
        _store_record(store, record, todo[record["image"]], settings)
        if "error" in record:
            report.failed.append((record["image"], record["error"]))
        else:
            report.indexed += 1
            report.faces += len(record["faces"])
        if on_record is not None:
            on_record(record)
        done += 1
        if progress is not None:
            progress(done, report.photos, record["image"])
    return report


def _results(paths: list[str], settings: IndexSettings, jobs: int, dask: str | None):
    """Each photo's record, in the order they complete."""
    if not paths:
        return
    if dask is not None:
        yield from _dask_results(paths, settings, dask, jobs)
    elif jobs > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        # spawn, not fork: a forked copy of a process whose numba threads are running can
        # hang; an executor (not a Pool) fails loudly if a worker dies instead of waiting
        ctx = multiprocessing.get_context("spawn")
        workers = min(jobs, len(paths))
        env = worker_thread_env(workers)
        ex = ProcessPoolExecutor(workers, ctx, initializer=_start_worker, initargs=(settings, env))
        try:
            for future in as_completed([ex.submit(analyse_photo, p, settings) for p in paths]):
                yield future.result()
        except BrokenProcessPool:
            raise BackendError(
                "an index worker process died (out of memory, or killed); "
                "run again to finish: indexed photos are kept"
            ) from None
        finally:  # on Ctrl-C or an error, drop the photos not started rather than wait
            ex.shutdown(wait=True, cancel_futures=True)
    else:
        for path in paths:
            yield analyse_photo(path, settings)


def _dask_results(paths: list[str], settings: IndexSettings, address: str, jobs: int):
    """Records computed on a Dask cluster, streamed back as each task finishes."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise OptionsError(
            "--dask needs dask.distributed, the optional 'scale' extra: "
            "pip install 'faceapi-np[scale]'"
        ) from None
    cluster = None
    try:
        if address == "local":
            import logging

            workers = jobs if jobs > 1 else (os.cpu_count() or 1)
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=worker_thread_env(workers),
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout=30)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise OptionsError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        futures = client.map(analyse_photo, paths, settings=settings, pure=False)
        for future in as_completed(futures):
            yield future.result()
            future.release()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _store_record(store: Store, record: dict, sha256: str, settings: IndexSettings) -> None:
    """Replace a photo's row and faces by those of ``record``, in one transaction."""
    path, now = record["image"], time.time()
    error = record.get("error")
    faces = record.get("faces", [])
    where = dict(
        sha256=sha256,
        width=record.get("width"),
        height=record.get("height"),
        model=settings.model,
        options=settings.options_json,
        created=now,
        image=path,
    )
    rows = [face_row(f, face_index=k, **where) for k, f in enumerate(faces)]
    with store.transaction() as c:
        old = c.execute("SELECT id FROM images WHERE path = ?", (path,)).fetchone()
        if old is not None:
            c.execute("DELETE FROM faces WHERE image_id = ?", old)
            c.execute("DELETE FROM images WHERE id = ?", old)
        image_id = c.execute(
            "INSERT INTO images (path, sha256, width, height, faces, error, model, options, "
            "indexed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                path,
                sha256,
                where["width"],
                where["height"],
                None if error else len(faces),
                error,
                settings.model,
                settings.options_json,
                now,
            ),
        ).lastrowid
        store.insert_faces(c, [r[:1] + (image_id,) + r[2:] for r in rows])
