#!/usr/bin/env bash
# Resolves Apache ZooKeeper 3.8's Prometheus metrics provider (zookeeper-prometheus-metrics 3.8.0 and
# the io.prometheus simpleclient 0.9.x jars it needs) into a flat, cached directory:
#   $ZK_PROMETHEUS_HOME (default ~/.cache/clustergenie/zk-prometheus)   *.jar
# ZooKeeper itself, Jetty, the servlet API and slf4j come from Debian (/usr/share/java), as the
# differential tests' Apache ZooKeeper does, so they are excluded here.
# Idempotent and offline-first: a cache whose stamp matches is left alone (no Maven run at all);
# otherwise Maven resolves from its local repository (-o) and only goes to the network when that fails.
# Prints ZK_PROMETHEUS_HOME=<dir> on stdout (progress goes to stderr).
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/clustergenie"
dest="${ZK_PROMETHEUS_HOME:-$cache/zk-prometheus}"
mvn_bin="${MVN:-mvn}"
version=3.8.0

log() { echo "fetch-zk-prometheus: $*" >&2; }

pom_text() {
  cat <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>clustergenie.oracle</groupId>
  <artifactId>zk-prometheus</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.zookeeper</groupId>
      <artifactId>zookeeper-prometheus-metrics</artifactId>
      <version>$version</version>
      <exclusions>
        <exclusion><groupId>org.apache.zookeeper</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.eclipse.jetty</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>javax.servlet</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>org.slf4j</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>ch.qos.logback</groupId><artifactId>*</artifactId></exclusion>
        <exclusion><groupId>log4j</groupId><artifactId>*</artifactId></exclusion>
      </exclusions>
    </dependency>
  </dependencies>
</project>
POM
}

want="$(pom_text | { sha256sum 2>/dev/null || shasum -a 256; } | cut -d' ' -f1)"
if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$want" ] && ls "$dest"/*.jar >/dev/null 2>&1; then
  log "cached in $dest"
  echo "ZK_PROMETHEUS_HOME=$dest"
  exit 0
fi
mkdir -p "$(dirname "$dest")"
tmp="$(mktemp -d "$(dirname "$dest")/.fetch-zk-prometheus.XXXXXX")"
# shellcheck disable=SC2064
trap "rm -rf '$tmp'" EXIT
pom_text >"$tmp/pom.xml"
args=(-B -q -f "$tmp/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/lib")
if "$mvn_bin" -o "${args[@]}" >"$tmp/mvn-offline.log" 2>&1; then
  log "resolved from the local Maven repository"
else
  log "not all in the local Maven repository; downloading"
  rm -rf "$tmp/lib"
  if ! "$mvn_bin" "${args[@]}" >"$tmp/mvn.log" 2>&1; then
    cat "$tmp/mvn.log" >&2
    log "Maven failed"
    exit 1
  fi
fi
mkdir -p "$tmp/out"
mv "$tmp"/lib/*.jar "$tmp/out/"
echo "$want" >"$tmp/out/.stamp"
# Swap in whole: a reader never sees a half-filled directory.
rm -rf "$dest.old"
[ -e "$dest" ] && mv "$dest" "$dest.old"
mv "$tmp/out" "$dest"
rm -rf "$dest.old"
log "resolved into $dest"
echo "ZK_PROMETHEUS_HOME=$dest"
