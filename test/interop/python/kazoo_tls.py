#!/usr/bin/python3
"""kazoo (Debian python3-kazoo 2.8.0) over TLS, driven by test/interop/kazooTls.test.ts.

Usage: kazoo_tls.py STEP HOSTS CA CERT KEY [ARG]
Steps (each prints one JSON line on stdout):
  write   create /kz-tls with an ACL for x509:<ARG> only, read it back
  read    get /kz-tls (NoAuth is reported, not raised)
  roots   create /kz-<ARG> and list the root: proves the session works
  refused try to connect; expected to fail: reports the client-side error kazoo logged
"""
import json
import logging
import sys

from kazoo.client import KazooClient
from kazoo.exceptions import NoAuthError
from kazoo.security import ACL, Id, Permissions

step, hosts, ca, cert, key = sys.argv[1:6]
arg = sys.argv[6] if len(sys.argv) > 6 else None

# kazoo logs connection errors (the SSL alert) and retries; keep them for the report.
errors = []


class Keep(logging.Handler):
    def emit(self, record):
        errors.append(record.getMessage() + (" " + str(record.exc_info[1]) if record.exc_info else ""))


logging.getLogger("kazoo").addHandler(Keep())
logging.getLogger("kazoo").setLevel(logging.WARNING)

client = KazooClient(
    hosts=hosts,
    use_ssl=True,
    verify_certs=True,
    ca=ca,
    certfile=cert if cert != "-" else None,
    keyfile=key if key != "-" else None,
    timeout=10,
    connection_retry={"max_tries": 2, "delay": 0.1, "backoff": 1},
)
out = {"step": step}
try:
    client.start(timeout=8 if step != "refused" else 4)
except Exception as e:  # noqa: BLE001 - reported to the test
    out["connected"] = False
    out["error"] = "%s: %s" % (type(e).__name__, e)
    out["logged"] = errors[-5:]
    print(json.dumps(out))
    client.close()
    sys.exit(0)
out["connected"] = True
try:
    if step == "write":
        acl = [ACL(Permissions.ALL, Id("x509", arg))]
        client.create("/kz-tls", b"for one client", acl=acl)
        data, stat = client.get("/kz-tls")
        out["data"] = data.decode()
        out["acl"] = [[a.perms, a.id.scheme, a.id.id] for a in client.get_acls("/kz-tls")[0]]
    elif step == "read":
        try:
            out["data"] = client.get("/kz-tls")[0].decode()
        except NoAuthError:
            out["error"] = "NoAuthError"
    elif step == "roots":
        client.create("/kz-" + arg, b"x")
        out["children"] = sorted(client.get_children("/"))
finally:
    client.stop()
    client.close()
print(json.dumps(out))
