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
# shellcheck source=lib/maven-cache.sh
. "$(dirname "$0")/lib/maven-cache.sh"

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

want="$(pom_text | sha256_hex)"
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
maven_copy_deps "$tmp/pom.xml" "$tmp/lib" "$tmp"
mkdir -p "$tmp/out"
mv "$tmp"/lib/*.jar "$tmp/out/"
echo "$want" >"$tmp/out/.stamp"
swap_into "$tmp/out" "$dest"
log "resolved into $dest"
echo "ZK_PROMETHEUS_HOME=$dest"
