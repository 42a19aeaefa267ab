#!/usr/bin/env bash
# Installs the current confluent-kafka (PyPI wheel, bundled librdkafka) into a venv the Python
# interop test uses beside Debian's python3-confluent-kafka 1.7 (librdkafka 2.0.2):
#   $CG_PY_VENV (default ~/.cache/clustergenie/venv)
# Idempotent: a venv whose stamp matches the requirement is left alone (no pip run at all).
# Debian's /usr/bin/python3 builds the venv so the same interpreter runs both client generations.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/clustergenie"
venv="${CG_PY_VENV:-$cache/venv}"
python="${CG_PYTHON:-/usr/bin/python3}"
# Pinned so CI runs what was tested; bump deliberately.
requirement="confluent-kafka==${CG_CONFLUENT_KAFKA_VERSION:-2.16.2}"

log() { echo "fetch-python-clients: $*" >&2; }

want="$requirement $("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$want" ] && "$venv/bin/python" -c 'import confluent_kafka' 2>/dev/null; then
  log "cached in $venv ($requirement)"
else
  log "creating $venv with $requirement"
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "$requirement"
  echo "$want" >"$venv/.stamp"
fi
echo "CG_PY_VENV=$venv"
