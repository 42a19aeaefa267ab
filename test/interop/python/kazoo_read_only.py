#!/usr/bin/python3
"""Read-only mode through kazoo (Debian python3-kazoo), for test/zookeeper/quorum/readOnly.test.ts.

Usage: kazoo_read_only.py <all members host:port,...> <the member left up, host:port> <path>

Run while only one member of a 3-member ensemble is up. Phase 1: a client that allows read-only
sessions reaches CONNECTED_RO, reads <path>, and its create fails with NotReadOnlyCallError; a
client that does not allow read-only sessions never connects. Prints {"phase": "ready", ...} and
waits for a line on stdin (meanwhile the test restarts the other members). Phase 2: the same
client gets back to a read-write session (CONNECTED), writes <path>-after and reads it back.
Prints {"phase": "done", ...}. Every wait has a deadline.
"""

import json
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NotReadOnlyCallError
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import KeeperState

RO_DEADLINE_S = 30
RW_DEADLINE_S = 90
REFUSED_WAIT_S = 4


def wait_until(cond, deadline_s, what):
    end = time.monotonic() + deadline_s
    while not cond():
        if time.monotonic() > end:
            raise SystemExit("timed out after %ss waiting for %s" % (deadline_s, what))
        time.sleep(0.05)


def main():
    all_hosts, lone, path = sys.argv[1], sys.argv[2], sys.argv[3]
    states = []
    seen = threading.Lock()

    client = KazooClient(hosts=all_hosts, read_only=True, timeout=10)

    def listen(_state):
        with seen:
            states.append(str(client.client_state))

    client.add_listener(listen)
    client.start(timeout=RO_DEADLINE_S)
    wait_until(lambda: client.client_state == KeeperState.CONNECTED_RO, RO_DEADLINE_S, "CONNECTED_RO")
    data, _ = client.get(path)
    write_error = None
    try:
        client.create(path + "-ro")
    except NotReadOnlyCallError as e:
        write_error = type(e).__name__

    # A client that did not allow read-only sessions is turned away (the connection is closed).
    rw_client = KazooClient(hosts=lone, read_only=False, timeout=10)
    refused = False
    try:
        rw_client.start(timeout=REFUSED_WAIT_S)
    except KazooTimeoutError:
        refused = True
    finally:
        rw_client.stop()
        rw_client.close()

    print(json.dumps({
        "phase": "ready",
        "state": str(client.client_state),
        "data": data.decode("utf-8"),
        "write_error": write_error,
        "rw_client_refused": refused,
    }), flush=True)
    sys.stdin.readline()

    wait_until(lambda: client.client_state == KeeperState.CONNECTED, RW_DEADLINE_S, "CONNECTED (read-write)")
    client.create(path + "-after", b"after")
    after, _ = client.get(path + "-after")
    client.stop()
    client.close()
    with seen:
        seen_states = list(states)
    print(json.dumps({
        "phase": "done",
        "state": "CONNECTED",
        "after": after.decode("utf-8"),
        "states": seen_states,
    }), flush=True)


if __name__ == "__main__":
    main()
