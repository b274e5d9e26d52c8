"""pytest plugin: dump what pytest collected, with marker names, as JSON.

Load it with ``-p markers_plugin`` (and ``PYTHONPATH`` pointing at this
directory) so that fixture projects need no conftest of their own.

After collection (and after ``-m`` deselection, which runs in
``pytest_collection_modifyitems``) it writes to the path in the environment
variable ``TOLLGATE_ORACLE_OUT`` a JSON list, in collection order::

    [{"nodeid": "...", "markers": ["sorted", "distinct", "names"],
      "function_markers": [...], "param_markers": [...]}]

``markers`` is exactly ``item.iter_markers()``; ``param_markers`` are the
names that came from ``pytest.param(..., marks=...)`` of this item's
parametrization; ``function_markers`` are the names of every *other* mark
(those that the whole test function shares, whatever its parameters).

If ``TOLLGATE_ORACLE_ERRORS`` is set, collection errors are written there as
``[{"nodeid": "...", "message": "..."}]``.

If ``TOLLGATE_ORACLE_SELECT`` holds a JSON list of ``-m`` expressions and
``TOLLGATE_ORACLE_SELECTIONS`` a path, each expression is evaluated over the
collected items with pytest's own ``-m`` machinery (``deselect_by_mark``:
the same parser, the same ``MarkMatcher`` over ``iter_markers()``, the same
strict-markers check, and an empty expression keeps everything), and
``{"markexpr_in_effect": "...", "answers": {"<expr>": {"selected": [nodeids]}
| {"error": "..."}}}`` is written there. The answers are over the items left
after collection; when a ``-m`` was already in effect (say from ``addopts``)
they are not what ``pytest -m <expr>`` would select, which replaces it, and
``collect_oracle.py`` then runs pytest once per expression instead.
"""

from __future__ import annotations

import json
import os

_ENV_OUT = "TOLLGATE_ORACLE_OUT"
_ENV_ERRORS = "TOLLGATE_ORACLE_ERRORS"
_ENV_SELECT = "TOLLGATE_ORACLE_SELECT"
_ENV_SELECTIONS = "TOLLGATE_ORACLE_SELECTIONS"

_errors: list[dict[str, str]] = []


def _param_marks(item) -> list:
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return []
    return [getattr(mark, "mark", mark) for mark in callspec.marks]


def _describe(item) -> dict:
    param_marks = _param_marks(item)
    all_marks = list(item.iter_markers())
    # Identity, not name: a function-level mark may share its name with a
    # param-level one and must still count as function-level.
    function_marks = [m for m in all_marks if not any(m is p for p in param_marks)]
    return {
        "nodeid": item.nodeid,
        "markers": sorted({m.name for m in all_marks}),
        "function_markers": sorted({m.name for m in function_marks}),
        "param_markers": sorted({m.name for m in param_marks}),
    }


def _write_json(path: str, value) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, ensure_ascii=False, indent=1)


def _select(items, config, expression: str) -> dict:
    """What ``pytest -m expression`` keeps of ``items`` (see ``deselect_by_mark``)."""
    from _pytest.config import UsageError
    from _pytest.mark import MarkMatcher, _parse_expression, _validate_marker_names

    if not expression:
        return {"selected": [item.nodeid for item in items]}
    try:
        expr = _parse_expression(expression, "Wrong expression passed to '-m'")
        _validate_marker_names(expr, config)
    except UsageError as exc:
        return {"error": str(exc)}
    return {
        "selected": [
            item.nodeid
            for item in items
            if expr.evaluate(MarkMatcher.from_markers(item.iter_markers()))
        ]
    }


def pytest_collectreport(report) -> None:
    if report.failed:
        text = str(report.longrepr) if report.longrepr is not None else ""
        _errors.append({"nodeid": report.nodeid, "message": text.strip()})


def pytest_collection_finish(session) -> None:
    out = os.environ.get(_ENV_OUT)
    if out:
        _write_json(out, [_describe(item) for item in session.items])
    errors = os.environ.get(_ENV_ERRORS)
    if errors:
        _write_json(errors, _errors)
    selections = os.environ.get(_ENV_SELECTIONS)
    if selections:
        expressions = json.loads(os.environ.get(_ENV_SELECT, "[]"))
        _write_json(
            selections,
            {
                "markexpr_in_effect": session.config.option.markexpr or "",
                "answers": {
                    e: _select(session.items, session.config, e) for e in expressions
                },
            },
        )
