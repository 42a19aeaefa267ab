#!/usr/bin/python3
"""Run kazoo's own test suite (Debian python3-kazoo 2.8.0) against Apache ZooKeeper 3.8 or clustergenie.

kazoo's harness (kazoo/testing/common.py) always launches its servers itself, as
`java ... org.apache.zookeeper.server.quorum.QuorumPeerMain <tmp>/zoo.cfg`, with `java` looked
up on PATH. We put test/interop/kazoo/java (a shim) first on PATH; KAZOO_JAVA_SHIM_TARGET tells
it whether to exec the real JVM (apache) or `node bin/clustergenie.js zookeeper --config ...`.

Usage: run-kazoo.py --target apache|clustergenie --output results.txt [options] [-- pytest args]
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


def pick_offset():
    # Below the ephemeral range (32768+), away from the harness default 20000. The harness uses
    # offset..offset+3 for its single server, the preflight offset+5..offset+8.
    for offset in range(24100, 25000, 10):
        if ports_free(offset, 10):
            return offset
    raise SystemExit("no free block of 4 loopback ports in 24100..24999")


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


def preflight(env, offset, run_dir):
    """Start one server through the shim the way kazoo does, check that it accepts a TCP
    connection and answers `ruok`, and that SIGTERM stops it. Returns an error string or None.

    Without this, a server that cannot start turns every test into a 15 s connect timeout.
    """
    work = tempfile.mkdtemp(prefix="preflight-", dir=env["TMPDIR"])
    data = os.path.join(work, "data")
    os.mkdir(data)
    port, admin = offset + 5, offset + 8
    cfg = os.path.join(work, "zoo.cfg")
    with open(cfg, "w") as fh:
        fh.write("tickTime=2000\ndataDir=%s\nclientPort=%d\nmaxClientCnxns=0\n"
                 "admin.serverPort=%d\n4lw.commands.whitelist=*\n" % (data, port, admin))
    cmd = ["java", "-cp", env["ZOOKEEPER_CLASSPATH"],
           "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=",
           "org.apache.zookeeper.server.quorum.QuorumPeerMain", cfg]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, cwd=run_dir, stdin=subprocess.DEVNULL)
    try:
        deadline = started + 30
        reply = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return "server exited with status %s before listening on 127.0.0.1:%d" % (proc.returncode, port)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                    s.sendall(b"ruok")
                    s.settimeout(5)
                    chunks = []
                    while True:
                        b = s.recv(64)
                        if not b:
                            break
                        chunks.append(b)
                    reply = b"".join(chunks)
                break
            except OSError:
                time.sleep(0.25)
        else:
            return "server did not accept connections on 127.0.0.1:%d within 30s" % port
        log("preflight: server answered ruok with %r after %.1fs" % (reply, time.monotonic() - started))
        if reply != b"imok":
            log("preflight WARNING: expected b'imok' (kazoo's tests do not need ruok, but they use envi)")
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            return "server did not exit within 15s of SIGTERM (kazoo's teardown would hang)"
        log("preflight: SIGTERM -> exit status %s" % proc.returncode)
        return None
    finally:
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", choices=("apache", "clustergenie"), required=True)
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

    offset = args.port_offset if args.port_offset is not None else pick_offset()
    if not ports_free(offset, 10):
        log("ports %d..%d are not free on 127.0.0.1" % (offset, offset + 9))
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
        "ZOOKEEPER_CLUSTER_SIZE": "1",
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
            problem = preflight(env, offset, run_dir)
        except KeyboardInterrupt:
            shutil.rmtree(run_dir, ignore_errors=True)
            return 130
        if problem:
            log("PREFLIGHT FAILED: %s; see %s" % (problem, server_log))
            shutil.rmtree(run_dir, ignore_errors=True)
            return 5

    cmd = [
        args.python, "-m", "pytest",
        "-p", "no:cacheprovider",
        "-p", "kazoo_results",
        "-c", ini, "--rootdir", SITE,
        "--timeout", str(args.timeout), "--timeout-method", "signal",
        "-q", "-rfEs", "--color", "no",
        "-W", "ignore::DeprecationWarning",
    ]
    if args.junit:
        cmd += ["--junitxml", os.path.abspath(args.junit), "-o", "junit_family=xunit2"]
    excluded = [] if args.no_default_excludes else read_excluded(EXCLUDED_FILE)
    for nodeid, _reason in excluded:
        if "::" in nodeid:
            cmd += ["--deselect", nodeid]
        else:
            cmd += ["--ignore", os.path.join(SITE, nodeid)]
    # Test ids are reported relative to /usr/lib/python3/dist-packages (kazoo/tests/...);
    # accept them in that form on the command line too.
    extra = [os.path.join(SITE, a) if a.startswith("kazoo/tests") else a for a in args.pytest_args]
    if not any(a.startswith(TESTS_DIR) for a in extra):
        extra.append(TESTS_DIR)
    cmd += extra

    log("target=%s port offset=%d (client port %d, admin port %d) excluded=%d run dir=%s"
        % (args.target, offset, offset, offset + 3, len(excluded), run_dir))
    log("server log: %s" % server_log)
    started = time.monotonic()
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
            if finished_at is None and summarize(output)[1]:
                finished_at = now
            if finished_at is not None and now - finished_at > 60:
                log("pytest finished its tests 60s ago but has not exited: the server probably "
                    "ignores SIGTERM (kazoo's atexit teardown waits for it); killing the run")
                timed_out = True
            elif now - started > args.overall_timeout:
                log("overall timeout of %ds reached; killing the run" % args.overall_timeout)
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
        shutil.rmtree(run_dir, ignore_errors=True)

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
