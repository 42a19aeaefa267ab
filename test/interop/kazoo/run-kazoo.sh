#!/usr/bin/env bash
# Entry point: runs kazoo's test suite against Apache ZooKeeper 3.8 or clustergenie.
#   test/interop/kazoo/run-kazoo.sh --target apache|clustergenie --output FILE [--junit FILE] [-- pytest args]
# All logic is in run-kazoo.py (see its --help and docs/KAZOO.md). Uses the system
# /usr/bin/python3 on purpose: that is where Debian's python3-kazoo/pytest/pytest-timeout live.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
exec "${KAZOO_PYTHON:-/usr/bin/python3}" "$here/run-kazoo.py" "$@"
