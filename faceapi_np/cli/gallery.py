"""``faceapi-np gallery import|export FILE.json --db DB``: face-api.js JSON in and out.

``import`` adds every entry of a face-api.js gallery JSON (``FaceMatcher.toJSON()``'s
shape, or the ``JSON.stringify`` shape with ``_labeledDescriptors``) to the database as a
new person, in one transaction; ``export`` writes the database's people in the
``toJSON`` shape that face-api.js's ``FaceMatcher.fromJSON`` reads.

Also home of :func:`open_gallery` and :data:`DEFAULT_DB`, shared by the commands that
work on a gallery database.
"""

from __future__ import annotations

NAME = "gallery"
HELP = "import or export a face-api.js gallery JSON into or from a gallery database"

#: The gallery database of every command when ``--db`` is not given.
DEFAULT_DB = "gallery.db"


def add_db_flag(parser, what: str = "gallery database (SQLite)") -> None:
    """``--db``, defaulting to :data:`DEFAULT_DB`."""
    parser.add_argument("--db", default=DEFAULT_DB, help=f"{what} (default {DEFAULT_DB})")


def is_json(db: str) -> bool:
    """A ``.json`` ``--db`` is a face-api.js gallery file rather than a database."""
    return str(db).lower().endswith(".json")


def open_gallery(db: str, create: bool = False):
    """The :class:`~faceapi_np.Gallery` at ``db``; a missing file is an error unless ``create``."""
    from ..gallery import Gallery

    return Gallery(db, create=create)


def add_arguments(parser) -> None:
    """``import`` or ``export``, the JSON file, and the database."""
    parser.add_argument(
        "action",
        choices=("import", "export"),
        help="import: add the file's people to the database; export: write the database's "
        "people to the file",
    )
    parser.add_argument("file", metavar="FILE.json", help="face-api.js gallery JSON")
    add_db_flag(parser)


def run(args) -> int:
    """Copy the people from the JSON file into the database, or the other way."""
    if args.action == "import":
        with open_gallery(args.db, create=True) as g:
            n = g.import_json(args.file)
            total = len(g.persons())
        print(f"imported {n} people from {args.file} into {args.db} ({total} in all)")
    else:
        with open_gallery(args.db) as g:
            n = g.export_json(args.file)
        print(f"exported {n} people from {args.db} to {args.file}")
    return 0
