# tollgate's pytest plugin (loaded with `-p tollgate_watchdog`).
#
# It appends JSON lines to $TOLLGATE_PROGRESS_FILE, and these lines are all
# tollgate reads back from pytest (no JUnit report: writing and parsing one
# cost more than the rest of tollgate on a large suite):
#
#   {"event": "start", "id": ...}        a test starts: tollgate knows which
#                                        test runs, to enforce per-test
#                                        timeouts by killing the process group
#   {"event": "result", "id": ..., "when": ..., "outcome": ..., "duration": ...,
#    "message": ..., "output": ...}      a test is over (teardown included):
#                                        its worst phase, total duration, and
#                                        for failures the message and output
#   {"event": "collect_error", "id": ..., "message": ...}
#                                        a module (or class) failed to collect
#   {"event": "finish", "exitstatus": N} the session ended
#
# Cost per test matters (tollgate's overhead bar is 5% of the suite): the
# result line of a test is written together with the start line of the next
# one, so a test costs one small write. The start line of a test that hangs
# is on disk (it is the last thing written); only the last test's result
# waits for the end of the session.
import json
import os

_PATH = os.environ.get("TOLLGATE_PROGRESS_FILE")
# xdist workers inherit the environment; only the controller, which sees
# every worker's reports, writes.
_ENABLED = bool(_PATH) and not os.environ.get("PYTEST_XDIST_WORKER")
_OUT = open(_PATH, "a", encoding="utf-8") if _ENABLED else None

# Longest message / captured output kept per test (the end, where errors are).
_MAX_TEXT = 32 * 1024

_dumps = json.dumps
_pending = []  # result lines not written yet
_current = {}  # nodeid -> [when, outcome, duration, message, output]
_RANK = {"passed": 0, "skipped": 1, "failed": 2}


def _tail(text):
    return text if len(text) <= _MAX_TEXT else text[-_MAX_TEXT:]


def _write(line):
    _pending.append(line)
    _OUT.write("".join(_pending))
    _OUT.flush()
    _pending.clear()


def _message(report):
    if report.failed:
        return _tail(report.longreprtext)
    wasxfail = getattr(report, "wasxfail", None)
    if wasxfail is not None:
        return "xfail" + (": " + wasxfail if wasxfail else "")
    if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        return str(report.longrepr[2])
    return None


def _output(report):
    if not report.sections:
        return None
    return _tail("\n".join(f"----- {title} -----\n{text}" for title, text in report.sections))


def pytest_runtest_logstart(nodeid, location):
    if _OUT is not None:
        _write('{"event":"start","id":' + _dumps(nodeid) + "}\n")


def pytest_runtest_logreport(report):
    if _OUT is None:
        return
    state = _current.get(report.nodeid)
    if state is None:
        state = _current[report.nodeid] = ["setup", "passed", 0.0, None, None]
    outcome = report.outcome
    state[2] += report.duration
    if outcome != "passed" or report.when == "call":
        # The phase that decides: a failure anywhere beats the call's result;
        # a skip in setup stands for the test.
        if _RANK[outcome] > _RANK[state[1]] or (report.when == "call" and state[1] == "passed"):
            state[0] = report.when
            state[1] = outcome
            state[3] = _message(report)
            state[4] = _output(report) if report.failed else None


def pytest_runtest_logfinish(nodeid, location):
    if _OUT is None:
        return
    state = _current.pop(nodeid, None)
    if state is None:
        return
    when, outcome, duration, message, output = state
    line = (
        '{"event":"result","id":' + _dumps(nodeid)
        + ',"when":"' + when + '","outcome":"' + outcome
        + '","duration":' + repr(float(duration))
    )
    if message is not None:
        line += ',"message":' + _dumps(message)
    if output is not None:
        line += ',"output":' + _dumps(output)
    _pending.append(line + "}\n")


def pytest_collectreport(report):
    if _OUT is not None and report.failed:
        _pending.append(
            '{"event":"collect_error","id":' + _dumps(report.nodeid)
            + ',"message":' + _dumps(_tail(report.longreprtext)) + "}\n"
        )


def pytest_sessionfinish(session, exitstatus):
    if _OUT is not None:
        _write('{"event":"finish","exitstatus":' + str(int(exitstatus)) + "}\n")
