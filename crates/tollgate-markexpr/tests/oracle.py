"""Ask real pytest what marker expressions do; used by oracle_pytest.rs.

Reads {"cases": [{"expr": str, "marks": [{"name": str, "kwargs": {...}}]}]}
as JSON on stdin and prints one JSON result per case, in order:
  {"result": bool}                           the expression evaluated
  {"error": {"column": int, "message": str, "text": str | None}}
                                             pytest's SyntaxError
  {"crash": "ExceptionType: message"}        any other exception

Evaluation goes through pytest's own MarkMatcher, exactly as `-m` does.
Exits with status 3 if pytest cannot be imported.
"""

import json
import sys

try:
    from _pytest.mark import MarkMatcher
    from _pytest.mark.expression import Expression
    from _pytest.mark.structures import Mark
    import pytest
except ImportError as exc:
    print(f"cannot import pytest: {exc}", file=sys.stderr)
    sys.exit(3)


def run(case):
    marks = [
        Mark(m["name"], (), m.get("kwargs", {}), _ispytest=True) for m in case["marks"]
    ]
    try:
        expr = Expression.compile(case["expr"])
        return {"result": expr.evaluate(MarkMatcher.from_markers(marks))}
    except SyntaxError as exc:
        return {"error": {"column": exc.offset, "message": exc.msg, "text": exc.text}}
    except Exception as exc:  # noqa: BLE001 - reported, compared by the test
        return {"crash": f"{type(exc).__name__}: {exc}"}


def main():
    request = json.load(sys.stdin)
    json.dump(
        {"pytest": pytest.__version__, "results": [run(c) for c in request["cases"]]},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
