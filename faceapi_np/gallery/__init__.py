"""Galleries and photo collections in an SQLite database (see ``docs/gallery.md``).

:class:`Gallery` holds enrolled people and indexed photos; :func:`index_photos` indexes a
collection (in worker processes or on a Dask cluster); clustering, labelling and search
work on what the index found. Importing this package loads only the standard library's
``sqlite3`` and NumPy.
"""

from .gallery import Gallery
from .index import IndexReport, index_photos

__all__ = ["Gallery", "IndexReport", "index_photos"]
