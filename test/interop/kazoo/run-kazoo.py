#!/usr/bin/python3
"""Run kazoo's own test suite (Debian python3-kazoo 2.8.0) against Apache ZooKeeper 3.8 or clustergenie.

kazoo's harness (kazoo/testing/common.py) always launches its servers itself, as
`java ... org.apache.zookeeper.server.quorum.QuorumPeerMain <tmp>/zoo.cfg`, with `java` looked
up on PATH. We put test/interop/kazoo/java (a shim) first on PATH; KAZOO_JAVA_SHIM_TARGET tells
it whether to exec the real JVM (apache) or `node bin/clustergenie.js zookeeper --config ...`.

Usage: run-kazoo.py --target apache|clustergenie --output results.txt [--size N] [options] [-- pytest args]

--size N sets ZOOKEEPER_CLUSTER_SIZE: 1 (default) is a standalone server, 3 an ensemble of three
members that kazoo's harness starts with server.N lines and a myid each (the shim starts one
`clustergenie zookeeper --config` per member). Sizes > 1 default to excluded-ensemble.txt.
kazoo/tests/test_sasl.py runs in a second pytest session after the main one (its digest tests
restart the harness's cluster with a JAAS config for every later test); the results are merged.
Exit status: 0 all selected tests passed, 1 some test failed/errored, 2 usage,
3 prerequisites missing (python3/pytest/pytest-timeout/kazoo), 4 run timed out, was killed or
stopped early (KAZOO_MAX_SETUP_ERRORS consecutive setUp errors), 5 preflight failed (the server
did not start, did not accept connections, or did not exit on SIGTERM).
See docs/KAZOO.md.
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM = os.path.join(HERE, "java")
EXCLUDED_FILE = os.path.join(HERE, "excluded.txt")
EXCLUDED_ENSEMBLE_FILE = os.path.join(HERE, "excluded-ensemble.txt")
SITE = "/usr/lib/python3/dist-packages"
TESTS_DIR = os.path.join(SITE, "kazoo", "tests")
# Debian's zookeeper.jar carries a Class-Path manifest for netty/jetty/jackson/metrics/...;
# we only add logging. Do not use ZOOKEEPER_PATH=/usr/share/java: the harness then globs
# log4j-*.jar, which also matches log4j-over-slf4j.jar next to slf4j-log4j12.jar.
APACHE_CLASSPATH = ":".join(
    "/usr/share/java/%s.jar" % j
    for j in ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-log4j12", "log4j-1.2")
)
# kazoo reads these; we set them all explicitly so the caller's environment cannot leak in.
HARNESS_VARS = (
    "ZOOKEEPER_PATH", "ZOOKEEPER_CLASSPATH", "ZOOKEEPER_PORT_OFFSET", "ZOOKEEPER_CLUSTER_SIZE",
    "ZOOKEEPER_VERSION", "ZOOKEEPER_OBSERVER_START_ID", "ZOOKEEPER_JAAS_AUTH",
    "ZOOKEEPER_LOCAL_SESSION_RO", "TRAVIS", "CI", "KRB5_CONFIG", "KRB5_TEST_ENV",
)
# test_sasl.py's digest tests set os.environ ZOOKEEPER_JAAS_AUTH, after which kazoo's harness
# restarts the global cluster with a JAAS config for every later test of the session: they run
# in a pytest session of their own, after the main one (results merged into one file).
SASL_TESTS = "kazoo/tests/test_sasl.py"
FINISHED_MARK = "# session finished"
STOPPED_MARK = "# session stopped early"


def log(msg):
    print("[run-kazoo] %s" % msg, file=sys.stderr, flush=True)


def read_excluded(path):
    """Lines `<nodeid prefix><TAB><reason>`; '#' comments and blank lines ignored."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            nodeid, _, reason = line.partition("\t")
            out.append((nodeid.strip(), reason.strip()))
    return out


def ports_free(offset, count=4):
    for port in range(offset, offset + count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def port_block(size):
    """Ports a run needs from its offset on. The harness gives server i (0-based) the ports
    offset+10*i .. offset+10*i+3 (client, election, quorum, admin). The preflight uses
    offset+5/offset+8 for one server, and the blocks after the harness's (offset+10*(size+i)) for
    an ensemble. offset+9 is never used by a server: the runner holds it for the whole run as a
    reservation, so that a second runner started meanwhile picks another block."""
    return 10 if size == 1 else 20 * size


def pick_offset(size):
    # Below the ephemeral range (32768+), away from the harness default 20000. Standalone runs
    # search from 24100. Ensemble runs search 7000..7999: their members are stopped and restarted
    # on the same ports during the run, and the test clusters of other test files take random
    # free ports from 10000..32767 (src/util/net.ts stablePort), which could grab a stopped
    # member's port; below 10000 they never do. Either way `npm test` running both kazoo wrappers
    # at once does not even try the same ports.
    block = port_block(size)
    first, last = (24100, 25000) if size == 1 else (7000, 8000)
    for offset in range(first, last, block):
        if ports_free(offset, block):
            return offset
    raise SystemExit("no free block of %d loopback ports in %d..%d" % (block, first, last - 1))


def reserve(offset):
    """Hold offset+9 (bound, not listening) for the run; see port_block."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", offset + 9))
    except OSError:
        s.close()
        return None
    return s


def check_prereqs(python):
    probe = ("import sys, pytest, pytest_timeout, kazoo, kazoo.testing; "
             "import kazoo.version as v; print(v.__version__, pytest.__version__)")
    try:
        r = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
    except OSError as e:
        return "cannot run %s: %s" % (python, e)
    if r.returncode != 0:
        return "%s cannot import pytest/pytest_timeout/kazoo: %s" % (python, r.stderr.strip()[-500:])
    kazoo_ver, pytest_ver = r.stdout.split()
    log("python=%s kazoo=%s pytest=%s" % (python, kazoo_ver, pytest_ver))
    if not os.path.isdir(TESTS_DIR):
        return "kazoo tests not found at %s" % TESTS_DIR
    return None


def four_letter(port, cmd, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(cmd)
        s.settimeout(timeout)
        chunks = []
        while True:
            b = s.recv(4096)
            if not b:
                break
            chunks.append(b)
    return b"".join(chunks)


def preflight(env, offset, run_dir, size):
    """Start the server(s) through the shim the way kazoo does, check that each accepts a TCP
    connection and answers `ruok` (an ensemble: and that `srvr` shows every member serving as
    leader or follower), and that SIGTERM stops them. Returns an error string or None.

    Without this, a server that cannot start turns every test into a 15 s connect timeout.
    """
    work = tempfile.mkdtemp(prefix="preflight-", dir=env["TMPDIR"])
    if size == 1:
        members = [(1, offset + 5, None, None, offset + 8)]
    else:
        members = [(i + 1, offset + 10 * (size + i), offset + 10 * (size + i) + 1,
                    offset + 10 * (size + i) + 2, offset + 10 * (size + i) + 3) for i in range(size)]
    procs = []
    started = time.monotonic()
    try:
        for sid, port, election, quorum, admin in reversed(members):  # kazoo starts them in reverse
            mdir = os.path.join(work, "s%d" % sid)
            data = os.path.join(mdir, "data")
            os.makedirs(data)
            cfg = os.path.join(mdir, "zoo.cfg")
            with open(cfg, "w") as fh:
                fh.write("tickTime=2000\ndataDir=%s\nclientPort=%d\nmaxClientCnxns=0\n"
                         "admin.serverPort=%d\n4lw.commands.whitelist=*\n" % (data, port, admin))
                if size > 1:
                    # As kazoo 2.8.0's ManagedZooKeeper.run() writes them (host:quorum:election:type).
                    fh.write("reconfigEnabled=true\ninitLimit=4\nsyncLimit=2\n")
                    for m in [x for x in members if x[0] == sid] + [x for x in members if x[0] != sid]:
                        fh.write("server.%d=localhost:%d:%d:participant\n" % (m[0], m[3], m[2]))
                    fh.write("peerType=participant\n")
            with open(os.path.join(data, "myid"), "w") as fh:
                fh.write(str(sid))
            cmd = ["java", "-cp", env["ZOOKEEPER_CLASSPATH"],
                   "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
                   "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
            procs.append((sid, port, subprocess.Popen(cmd, env=env, cwd=run_dir, stdin=subprocess.DEVNULL)))
        deadline = started + (30 if size == 1 else 45)
        pending = {sid: port for sid, port, _p in procs}
        while pending:
            for sid, port, proc in procs:
                if proc.poll() is not None:
                    return "server %d exited with status %s before serving on 127.0.0.1:%d" % (sid, proc.returncode, port)
            for sid, port in list(pending.items()):
                try:
                    reply = four_letter(port, b"ruok")
                    if size == 1:
                        log("preflight: server answered ruok with %r after %.1fs" % (reply, time.monotonic() - started))
                        if reply != b"imok":
                            log("preflight WARNING: expected b'imok' (kazoo's tests do not need ruok, but they use envi)")
                        del pending[sid]
                        continue
                    srvr = four_letter(port, b"srvr").decode("utf-8", "replace")
                    mode = [l.split(":", 1)[1].strip() for l in srvr.splitlines() if l.startswith("Mode:")]
                    if mode and mode[0] in ("leader", "follower"):
                        log("preflight: server %d (port %d) answered ruok %r and serves as %s after %.1fs"
                            % (sid, port, reply, mode[0], time.monotonic() - started))
                        del pending[sid]
                except OSError:
                    pass
            if not pending:
                break
            if time.monotonic() > deadline:
                return ("server(s) %s did not %s on 127.0.0.1 within %ds"
                        % (",".join(str(s) for s in sorted(pending)),
                           "accept connections" if size == 1 else "serve as leader/follower",
                           deadline - started))
            time.sleep(0.25)
        for _sid, _port, proc in procs:
            proc.send_signal(signal.SIGTERM)
        stop_deadline = time.monotonic() + 15
        for sid, _port, proc in procs:
            try:
                proc.wait(timeout=max(0.1, stop_deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                return "server %d did not exit within 15s of SIGTERM (kazoo's teardown would hang)" % sid
            log("preflight: server %d: SIGTERM -> exit status %s" % (sid, proc.returncode))
        return None
    finally:
        for _sid, _port, proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        shutil.rmtree(work, ignore_errors=True)


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def summarize(path):
    counts = {}
    finished = False
    if os.path.exists(path):
        with open(path) as fh:
            for line in fh:
                if line.startswith(FINISHED_MARK):
                    finished = True
                    continue
                if line.startswith(STOPPED_MARK):
                    counts["stopped-early"] = 1
                    continue
                outcome = line.split("\t", 1)[0]
                counts[outcome] = counts.get(outcome, 0) + 1
    return counts, finished


def run_session(cmd, env, run_dir, results, deadline):
    """One pytest session, watched: returns (exit status, timed out, interrupted)."""
    proc = subprocess.Popen(cmd, env=env, cwd=run_dir, start_new_session=True)
    pgid = proc.pid
    status = None
    finished_at = None
    timed_out = False
    interrupted = False
    try:
        while status is None:
            try:
                status = proc.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                pass
            now = time.monotonic()
            if finished_at is None and summarize(results)[1]:
                finished_at = now
            if finished_at is not None and now - finished_at > 60:
                log("pytest finished its tests 60s ago but has not exited: the server probably "
                    "ignores SIGTERM (kazoo's atexit teardown waits for it); killing the run")
                timed_out = True
            elif now > deadline:
                log("overall timeout reached; killing the run")
                timed_out = True
            if timed_out:
                kill_group(pgid, signal.SIGTERM)
                try:
                    status = proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    kill_group(pgid, signal.SIGKILL)
                    status = proc.wait()
    except KeyboardInterrupt:
        interrupted = True
        kill_group(pgid, signal.SIGTERM)
        try:
            status = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            kill_group(pgid, signal.SIGKILL)
            status = proc.wait()
    finally:
        # Anything still in pytest's process group (servers the harness failed to stop) is ours.
        if kill_group(pgid, signal.SIGTERM):
            time.sleep(2)
            if kill_group(pgid, 0):
                log("left-over processes in group %d after SIGTERM; sending SIGKILL" % pgid)
                kill_group(pgid, signal.SIGKILL)
    return status, timed_out, interrupted


def combined_status(statuses):
    """pytest's status over several sessions: 5 (nothing collected) only if every one said so."""
    real = [st for st in statuses if st != 5]
    if not real:
        return statuses[-1] if statuses else 5
    bad = [st for st in real if st != 0]
    return bad[0] if bad else 0


def merge_results(output, extra):
    """Appends the second session's results to the first's; one finished mark, if both finished."""
    lines, marks = [], []
    for path in (output, extra):
        if not os.path.exists(path):
            marks.append(None)
            continue
        finished = None
        with open(path) as fh:
            for line in fh:
                if line.startswith(FINISHED_MARK):
                    finished = line
                else:
                    lines.append(line)
        marks.append(finished)
        if path == extra:
            os.unlink(path)
    if all(marks):
        codes = [int(m.rsplit("=", 1)[1]) for m in marks]
        lines.append("%s exitstatus=%d\n" % (FINISHED_MARK, combined_status(codes)))
    with open(output + ".tmp", "w") as fh:
        fh.writelines(lines)
    os.replace(output + ".tmp", output)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=("apache", "clustergenie"), required=True)
    ap.add_argument("--size", type=int, default=1,
                    help="ZOOKEEPER_CLUSTER_SIZE: 1 = standalone (default), 3 = a 3-member ensemble")
    ap.add_argument("--excluded", help="excluded-tests file (default excluded.txt, or excluded-ensemble.txt with --size > 1)")
    ap.add_argument("--output", required=True, help="results file: <outcome>\\t<nodeid>\\t<reason> per test")
    ap.add_argument("--junit", help="also write a JUnit XML report here")
    ap.add_argument("--server-log", help="append server stdout/stderr here (default <output>.server.log)")
    ap.add_argument("--port-offset", type=int, help="ZOOKEEPER_PORT_OFFSET (default: first free block from 24100)")
    ap.add_argument("--timeout", type=int, default=120, help="per-test timeout in seconds (pytest-timeout)")
    ap.add_argument("--overall-timeout", type=int, default=3600, help="kill the whole run after this many seconds")
    ap.add_argument("--no-default-excludes", action="store_true", help="ignore excluded.txt")
    ap.add_argument("--no-preflight", action="store_true", help="skip the start/ruok/SIGTERM check")
    ap.add_argument("--python", default=os.environ.get("KAZOO_PYTHON", "/usr/bin/python3"),
                    help="interpreter with kazoo+pytest (default /usr/bin/python3; a pyenv python3 on PATH lacks them)")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest args after `--` (e.g. -k lock, or test ids)")
    args = ap.parse_args()

    def on_sigterm(_sig, _frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_sigterm)  # clean up (pytest's process group etc.) as for Ctrl-C

    if args.size < 1 or args.size > 9:
        log("--size must be between 1 and 9")
        return 2
    problem = check_prereqs(args.python)
    if problem:
        log("PREREQUISITE MISSING: " + problem)
        return 3

    output = os.path.abspath(args.output)
    os.makedirs(os.path.dirname(output), exist_ok=True)
    server_log = os.path.abspath(args.server_log or output + ".server.log")
    for p in (output, server_log):
        if os.path.exists(p):
            os.unlink(p)

    block = port_block(args.size)
    offset = args.port_offset if args.port_offset is not None else pick_offset(args.size)
    if not ports_free(offset, block):
        log("ports %d..%d are not free on 127.0.0.1" % (offset, offset + block - 1))
        return 2
    reservation = reserve(offset)
    if reservation is None:
        log("port %d (the reservation) was taken meanwhile" % (offset + 9))
        return 2

    run_dir = tempfile.mkdtemp(prefix="kazoo-%s-" % args.target)
    ini = os.path.join(run_dir, "pytest.ini")
    with open(ini, "w") as fh:
        fh.write("[pytest]\n")
    tmp = os.path.join(run_dir, "tmp")
    os.mkdir(tmp)

    env = dict(os.environ)
    for k in HARNESS_VARS:
        env.pop(k, None)
    env.update({
        "PATH": HERE + os.pathsep + env.get("PATH", ""),
        "KAZOO_JAVA_SHIM_TARGET": args.target,
        "KAZOO_SERVER_LOG": server_log,
        "KAZOO_RESULTS_FILE": output,
        # Decides the harness's extra zoo.cfg lines (4lw whitelist, reconfigEnabled) and the
        # superDigest -D property: both only for >= 3.5.
        "ZOOKEEPER_VERSION": "3.8.0",
        "ZOOKEEPER_CLUSTER_SIZE": str(args.size),
        "ZOOKEEPER_PORT_OFFSET": str(offset),
        "ZOOKEEPER_OBSERVER_START_ID": "-1",
        # Required by the harness even for clustergenie (the shim ignores it there).
        "ZOOKEEPER_CLASSPATH": APACHE_CLASSPATH,
        # TRAVIS (kazoo 2.8.0's switch; newer kazoo reads CI) stays unset on purpose: the tests
        # then ask the server for its version with the `envi` four-letter word instead of
        # trusting ZOOKEEPER_VERSION, and test_build.py skips.
        "TMPDIR": tmp,  # the harness's mkdtemp() working dirs land here
        "PYTHONDONTWRITEBYTECODE": "1",  # don't write .pyc files into /usr/lib
        "PYTHONPATH": HERE + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""),
        "PYTHONUNBUFFERED": "1",
    })

    if not args.no_preflight:
        try:
            problem = preflight(env, offset, run_dir, args.size)
        except KeyboardInterrupt:
            shutil.rmtree(run_dir, ignore_errors=True)
            return 130
        if problem:
            log("PREFLIGHT FAILED: %s; see %s" % (problem, server_log))
            shutil.rmtree(run_dir, ignore_errors=True)
            return 5

    base = [
        args.python, "-m", "pytest",
        "-p", "no:cacheprovider",
        "-p", "kazoo_results",
        "-c", ini, "--rootdir", SITE,
        "--timeout", str(args.timeout), "--timeout-method", "signal",
        "-q", "-rfEs", "--color", "no",
        "-W", "ignore::DeprecationWarning",
    ]
    excluded_file = args.excluded or (EXCLUDED_FILE if args.size == 1 else EXCLUDED_ENSEMBLE_FILE)
    excluded = [] if args.no_default_excludes else read_excluded(excluded_file)
    for nodeid, _reason in excluded:
        if "::" in nodeid:
            base += ["--deselect", nodeid]
        else:
            base += ["--ignore", os.path.join(SITE, nodeid)]
    # Test ids are reported relative to /usr/lib/python3/dist-packages (kazoo/tests/...);
    # accept them in that form on the command line too.
    extra = [os.path.join(SITE, a) if a.startswith("kazoo/tests") else a for a in args.pytest_args]
    sasl_file = os.path.join(SITE, SASL_TESTS)
    sasl_excluded = any(nodeid == SASL_TESTS for nodeid, _r in excluded)
    paths = [a for a in extra if a.startswith(TESTS_DIR)]
    options = [a for a in extra if not a.startswith(TESTS_DIR)]
    main_paths = [a for a in paths if not a.startswith(sasl_file)] if paths else [TESTS_DIR]
    sasl_paths = [] if sasl_excluded else ([a for a in paths if a.startswith(sasl_file)] if paths else [sasl_file])
    sessions = []  # (pytest command, results file)
    if main_paths:
        sessions.append((base + ["--ignore", sasl_file] + options + main_paths, output))
    if sasl_paths:
        sessions.append((base + options + sasl_paths, output + ".sasl" if main_paths else output))
    if args.junit:
        junit = os.path.abspath(args.junit)
        for i, (cmd, _out) in enumerate(sessions):
            path = junit if i == 0 else junit + ".sasl.xml"
            cmd += ["--junitxml", path, "-o", "junit_family=xunit2"]

    log("target=%s size=%d port offset=%d (client ports %s) excluded=%d (%s) run dir=%s"
        % (args.target, args.size, offset, ",".join(str(offset + 10 * i) for i in range(args.size)),
           len(excluded), os.path.basename(excluded_file), run_dir))
    log("server log: %s" % server_log)
    started = time.monotonic()
    statuses = []
    timed_out = False
    interrupted = False
    try:
        for cmd, results in sessions:
            if results != output:
                log("running %s in a pytest session of its own (it restarts the cluster with JAAS)" % SASL_TESTS)
            deadline = started + args.overall_timeout
            status, timed_out, interrupted = run_session(cmd, dict(env, KAZOO_RESULTS_FILE=results), run_dir, results, deadline)
            statuses.append(status)
            if timed_out or interrupted:
                break
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    if len(sessions) > 1 and len(statuses) > 1:
        merge_results(output, sessions[1][1])
    status = combined_status(statuses)

    elapsed = time.monotonic() - started
    counts, finished = summarize(output)
    log("pytest exit status %s after %.0fs; %s%s" % (
        status, elapsed,
        ", ".join("%s=%d" % kv for kv in sorted(counts.items())) or "no results",
        "" if finished else " (session did not finish)"))
    if interrupted:
        return 130
    if timed_out or not finished or "stopped-early" in counts:
        return 4
    if status == 5:  # no tests collected
        return 1
    return 0 if status == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
