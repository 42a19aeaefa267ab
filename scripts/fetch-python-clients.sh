#!/usr/bin/env bash
# Installs PyPI tools the tests use, each in its own venv (so their dependencies never clash):
#   $CG_PY_VENV (default ~/.cache/clustergenie/venv): the current confluent-kafka (wheel with a bundled
#     librdkafka), used by the Python interop test beside Debian's python3-confluent-kafka 1.7;
#   $CG_SCHEMATHESIS_VENV (default ~/.cache/clustergenie/venv-schemathesis): schemathesis, the
#     property-based API fuzzer the Job Service's OpenAPI test runs.
# Idempotent: a venv whose stamp matches its requirement is left alone (no pip run at all).
# Debian's /usr/bin/python3 builds the venvs so the same interpreter runs both client generations.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/clustergenie"
python="${CG_PYTHON:-/usr/bin/python3}"
pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"

log() { echo "fetch-python-clients: $*" >&2; }

# install_venv <dir> <requirement> <module to import as the check>
install_venv() {
  local venv="$1" requirement="$2" module="$3"
  local want="$requirement $pyver"
  if [ -f "$venv/.stamp" ] && [ "$(cat "$venv/.stamp")" = "$want" ] && "$venv/bin/python" -c "import $module" 2>/dev/null; then
    log "cached in $venv ($requirement)"
  else
    log "creating $venv with $requirement"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$requirement"
    echo "$want" >"$venv/.stamp"
  fi
}

# Pinned so CI runs what was tested; bump deliberately.
install_venv "${CG_PY_VENV:-$cache/venv}" "confluent-kafka==${CG_CONFLUENT_KAFKA_VERSION:-2.16.2}" confluent_kafka
install_venv "${CG_SCHEMATHESIS_VENV:-$cache/venv-schemathesis}" "schemathesis==${CG_SCHEMATHESIS_VERSION:-4.32.5}" schemathesis
echo "CG_PY_VENV=${CG_PY_VENV:-$cache/venv}"
echo "CG_SCHEMATHESIS_VENV=${CG_SCHEMATHESIS_VENV:-$cache/venv-schemathesis}"
