# tollgate's pytest watchdog plugin (loaded with `-p tollgate_watchdog`).
#
# It appends one JSON line per event to $TOLLGATE_PROGRESS_FILE so that
# tollgate knows which test is running (to enforce per-test timeouts by
# killing the process group) and which tests finished before a kill (pytest
# writes its JUnit report only at the end of the session).
import json
import os

_PATH = os.environ.get("TOLLGATE_PROGRESS_FILE")
_OUT = open(_PATH, "a", buffering=1, encoding="utf-8") if _PATH else None


def _emit(record):
    if _OUT is not None:
        _OUT.write(json.dumps(record) + "\n")
        _OUT.flush()


def pytest_runtest_logstart(nodeid, location):
    _emit({"event": "start", "id": nodeid})


def pytest_runtest_logreport(report):
    if report.when == "call" or report.failed or (report.skipped and report.when == "setup"):
        _emit({
            "event": "result",
            "id": report.nodeid,
            "when": report.when,
            "outcome": report.outcome,
            "duration": report.duration,
            "message": str(report.longrepr)[-4000:] if report.failed else None,
        })
