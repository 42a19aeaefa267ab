#!/usr/bin/env bash
# Resolves the Apache Kafka jars the oracle tests run (test/oracle/pom.xml) into a flat cache:
#   $KAFKA_ORACLE_HOME         (default ~/.cache/clustergenie/kafka-3.9)    lib/*.jar  config/log4j*.properties
#   $KAFKA_CLIENT4_HOME        (default ~/.cache/clustergenie/kafka-4-client) lib/*.jar  config/log4j*.properties
# Idempotent and offline-first: a cache whose stamp matches the pom is left alone (no Maven run at all);
# otherwise Maven resolves from its local repository (-o) and only goes to the network when that fails.
# Prints the two lib directories as KEY=VALUE lines on stdout (progress goes to stderr).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pom="$root/test/oracle/pom.xml"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/clustergenie"
home39="${KAFKA_ORACLE_HOME:-$cache/kafka-3.9}"
home4="${KAFKA_CLIENT4_HOME:-$cache/kafka-4-client}"
mvn_bin="${MVN:-mvn}"

log() { echo "fetch-kafka: $*" >&2; }
# shellcheck source=lib/maven-cache.sh
. "$root/scripts/lib/maven-cache.sh"

# Stamp = the pom, the logging configs and the profile: any change re-resolves.
stamp_of() {
  cat "$pom" "$root/test/oracle/log4j.properties" "$root/test/oracle/log4j2.properties" \
    | sha256_hex | sed "s/\$/ $1/"
}

# resolve <profile> <target dir>
resolve() {
  local profile="$1" dest="$2" want
  want="$(stamp_of "$profile")"
  if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] && ls "$dest"/lib/*.jar >/dev/null 2>&1; then
    log "$profile: cached in $dest"
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  local tmp
  tmp="$(mktemp -d "$(dirname "$dest")/.fetch-$profile.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" EXIT
  maven_copy_deps "$pom" "$tmp/lib" "$tmp" -P "$profile" || return 1
  mkdir -p "$tmp/config"
  cp "$root/test/oracle/log4j.properties" "$root/test/oracle/log4j2.properties" "$tmp/config/"
  echo "$want" >"$tmp/.stamp"
  swap_into "$tmp" "$dest"
  trap - EXIT
  log "$profile: $(ls "$dest"/lib/*.jar | wc -l) jars in $dest/lib"
}

resolve broker-3.9 "$home39"
resolve client-4 "$home4"

echo "KAFKA_ORACLE_LIB=$home39/lib"
echo "KAFKA_CLIENT4_LIB=$home4/lib"
