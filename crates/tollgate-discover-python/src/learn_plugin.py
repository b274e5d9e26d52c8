"""tollgate's learn plugin: records what pytest collected.

Loaded with ``-p tollgate_learn`` by ``tollgate learn`` and by the pytest jobs
of ``tollgate run``. When ``TOLLGATE_LEARN_FILE`` names a file (or
``TOLLGATE_LEARN_DIR`` a directory, for a file of its own per process), the
plugin writes there, once collection is finished, every collected item (deselected
ones included) with its node id, line and marks as ``item.iter_markers()``
yields them. Mark arguments are written as JSON when they are plain data and
as ``{"expr": repr(value)}`` otherwise. It changes nothing in the session.
"""

import json
import os
import time

import pytest

_order = {}
_deselected = []
_errors = []


def _value(value, depth=0):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if -(2**63) <= value < 2**63:
            return value
    elif isinstance(value, float):
        if value == value and value not in (float("inf"), float("-inf")):
            return value
    elif isinstance(value, (list, tuple)) and depth < 16:
        return [_value(v, depth + 1) for v in value]
    try:
        text = repr(value)
    except Exception:  # a repr that raises must not break collection
        text = "<%s>" % type(value).__name__
    return {"expr": text[:2000]}


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(session, config, items):
    # pytest's own order, before any plugin reorders or deselects.
    for index, item in enumerate(items):
        _order.setdefault(id(item), index)
    yield


def pytest_deselected(items):
    _deselected.extend(items)


def pytest_collectreport(report):
    if report.failed:
        _errors.append(report.nodeid.split("::")[0])


def _line(item):
    """The 1-based line of the test function (0 when unknown). Read from the
    code object: ``item.location`` would compute a report location per item,
    which costs more than the rest of the plugin."""
    obj = getattr(item, "function", None) or getattr(item, "obj", None)
    obj = getattr(obj, "__func__", obj)
    code = getattr(obj, "__code__", None)
    return code.co_firstlineno if code is not None else 0


def _rel(config, arg):
    """The rootdir-relative file an argument with a `::` selection names."""
    path = arg.split("::")[0]
    try:
        full = (config.invocation_params.dir / path).resolve()
        return full.relative_to(config.rootpath.resolve()).as_posix()
    except (ValueError, OSError):
        return None


def pytest_collection_finish(session):
    out = os.environ.get("TOLLGATE_LEARN_FILE")
    if not out:
        directory = os.environ.get("TOLLGATE_LEARN_DIR")
        if not directory:
            return
        out = os.path.join(
            directory, "learn-%d-%d.json" % (os.getpid(), time.time_ns())
        )
    config = session.config
    seen = set()
    items = []
    for item in list(session.items) + _deselected:
        if id(item) not in seen:
            seen.add(id(item))
            items.append(item)
    last = len(_order)
    items.sort(key=lambda item: _order.get(id(item), last))
    records = []
    for item in items:
        line = _line(item)
        marks = []
        for mark in item.iter_markers():
            marks.append(
                {
                    "name": mark.name,
                    "args": [_value(a) for a in mark.args],
                    "kwargs": {str(k): _value(v) for k, v in mark.kwargs.items()},
                }
            )
        records.append({"id": item.nodeid, "line": line, "marks": marks})
    partial = set()
    for arg in config.args:
        if "::" in arg:
            rel = _rel(config, arg)
            if rel is not None:
                partial.add(rel)
    report = {
        "version": 1,
        "pytest": pytest.__version__,
        "rootdir": str(config.rootpath),
        "inifile": str(config.inipath) if config.inipath else None,
        "items": records,
        "partial": sorted(partial),
        "errors": sorted(set(_errors)),
    }
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(report, f)
    os.replace(tmp, out)
