"""pytest plugin used by run-kazoo.py: one line per test, written when the session ends.

Loaded with `-p kazoo_results` (this directory on PYTHONPATH). The output file is named by the
KAZOO_RESULTS_FILE environment variable. Each line is

    <outcome>\t<nodeid>\t<short reason>

where outcome is passed | failed | error | skipped. `failed` means the test body failed,
`error` means a pytest setup/teardown phase failed (rare: kazoo's tests are unittest classes,
whose setUp/tearDown run inside pytest's call phase and so show up as `failed`), `skipped`
covers pytest.skip() in setUp as well as in the body. Tests that never reported
(the run was killed or stopped early) do not appear. Comment lines at the end:
`# session stopped early: ...` and `# session finished exitstatus=N`.
"""
import os

_results = {}
_order = []
_session = None
_consecutive_connect_timeouts = 0
_stopped = None
# kazoo's harness never restarts a server that died (it only tracks a `_running` flag), so
# after a crash every remaining test spends ~15 s in setUp failing to connect
# (KazooTimeoutError: Connection time-out). Stop the session after this many tests in a row
# failed that way (0 disables).
_MAX_CONNECT_TIMEOUTS = int(os.environ.get("KAZOO_MAX_CONNECT_TIMEOUTS", "8"))
_CONNECT_TIMEOUT = "KazooTimeoutError: Connection time-out"


def pytest_sessionstart(session):
    global _session
    _session = session


def _reason(report):
    if report.skipped:
        lr = report.longrepr
        if isinstance(lr, tuple) and len(lr) == 3:
            return str(lr[2])
        return str(lr)
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    return str(report.longrepr).strip().splitlines()[-1] if report.longrepr else ""


def _clean(text):
    text = " ".join(str(text).split())
    return text[:300]


def pytest_runtest_logreport(report):
    nodeid = report.nodeid
    if nodeid not in _results:
        _results[nodeid] = ("passed", "")
        _order.append(nodeid)
    current = _results[nodeid][0]
    if report.failed:
        outcome = "failed" if report.when == "call" else "error"
        if current not in ("failed", "error"):
            _results[nodeid] = (outcome, _clean("%s: %s" % (report.when, _reason(report))))
    elif report.skipped:
        if current == "passed":
            _results[nodeid] = ("skipped", _clean(_reason(report)))
    if report.when == "teardown":
        _circuit_breaker(nodeid)
        # Rewrite after every test so a run killed by the overall timeout keeps what it had.
        _write(None)


def _circuit_breaker(nodeid):
    global _consecutive_connect_timeouts, _stopped
    outcome, reason = _results[nodeid]
    if outcome in ("failed", "error") and _CONNECT_TIMEOUT in reason:
        _consecutive_connect_timeouts += 1
    else:
        _consecutive_connect_timeouts = 0
    if _MAX_CONNECT_TIMEOUTS and _consecutive_connect_timeouts >= _MAX_CONNECT_TIMEOUTS and _session:
        _stopped = ("%d tests in a row could not connect (server dead? kazoo's harness never "
                    "restarts it); last: %s" % (_consecutive_connect_timeouts, nodeid))
        _session.shouldstop = "kazoo_results: " + _stopped


def _write(exitstatus):
    path = os.environ.get("KAZOO_RESULTS_FILE")
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        for nodeid in _order:
            outcome, reason = _results[nodeid]
            fh.write("%s\t%s\t%s\n" % (outcome, nodeid, reason))
        if _stopped:
            fh.write("# session stopped early: %s\n" % _stopped)
        if exitstatus is not None:
            # run-kazoo.py watches for this line: after it, only kazoo's atexit teardown
            # (SIGTERM to the server, then wait) is left.
            fh.write("# session finished exitstatus=%d\n" % int(exitstatus))
    os.replace(tmp, path)


def pytest_sessionfinish(session, exitstatus):
    _write(exitstatus)
