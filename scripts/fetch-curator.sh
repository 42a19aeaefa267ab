#!/usr/bin/env bash
# Resolves the jars of the Curator interop check (test/interop/curator/pom.xml: Apache Curator 5.9.0
# on the ZooKeeper 3.9.5 client, whose jar is also the 3.9 oracle server) into a flat cache:
#   $CURATOR_HOME (default ~/.cache/clustergenie/curator)   lib/*.jar
# The Java test program itself is compiled at test time (test/interop/curator.test.ts, cached by the
# hash of its sources under $CURATOR_HOME/classes-<hash>), so only the jars are fetched here.
# Idempotent and offline-first: a cache whose stamp matches the pom is left alone (no Maven run at all);
# otherwise Maven resolves from its local repository (-o) and only goes to the network when that fails.
# Prints CURATOR_LIB=<dir> on stdout (progress goes to stderr).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
pom="$root/test/interop/curator/pom.xml"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/clustergenie"
dest="${CURATOR_HOME:-$cache/curator}"
mvn_bin="${MVN:-mvn}"

log() { echo "fetch-curator: $*" >&2; }
# shellcheck source=lib/maven-cache.sh
. "$root/scripts/lib/maven-cache.sh"

want="$(sha256_hex <"$pom")"
if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] && ls "$dest"/lib/*.jar >/dev/null 2>&1; then
  log "cached in $dest"
  echo "CURATOR_LIB=$dest/lib"
  exit 0
fi
mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$(dirname "$dest")/.fetch-curator.XXXXXX")"
# shellcheck disable=SC2064
trap "rm -rf '$tmp'" EXIT
maven_copy_deps "$pom" "$tmp/lib" "$tmp"
echo "$want" >"$tmp/.stamp"
# Swapped in whole (compiled classes of the old cache go too).
swap_into "$tmp" "$dest"
trap - EXIT
log "$(ls "$dest"/lib/*.jar | wc -l) jars in $dest/lib"
echo "CURATOR_LIB=$dest/lib"
