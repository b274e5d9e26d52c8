"""pytest plugin: write each collected item's id and its iter_markers() names.

Usage: DUMP_MARKERS_OUT=FILE python -m pytest --collect-only -q -p dump_markers
(with this directory on PYTHONPATH). Lines: ``<nodeid>\t<name>,<name>,...``,
the same format as ``pycollect --markers``.
"""

import os


def pytest_collection_finish(session):
    with open(os.environ["DUMP_MARKERS_OUT"], "w") as f:
        for item in session.items:
            names = ",".join(m.name for m in item.iter_markers())
            f.write(f"{item.nodeid}\t{names}\n")
