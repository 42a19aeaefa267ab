# Shared by the fetch-*.sh scripts (sourced, not run): resolve a pom's runtime jars with Maven,
# offline first, and swap a finished cache directory into place. The caller defines log() and
# mvn_bin, and sets `trap` cleanup for its temporary directory.

# maven_copy_deps <pom> <jar dir> <log dir> [maven args...]: the pom's runtime jars into <jar dir>,
# from the local Maven repository (-o) when it has them all, else from the network. Returns 1 after
# printing Maven's log when both fail.
maven_copy_deps() {
  local pom="$1" out="$2" logs="$3"
  shift 3
  local args=(-B -q -f "$pom" "$@" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$out")
  if "$mvn_bin" -o "${args[@]}" >"$logs/mvn-offline.log" 2>&1; then
    log "resolved from the local Maven repository"
  else
    log "not all in the local Maven repository; downloading"
    rm -rf "$out"
    if ! "$mvn_bin" "${args[@]}" >"$logs/mvn.log" 2>&1; then
      cat "$logs/mvn.log" >&2
      log "Maven failed"
      return 1
    fi
  fi
  rm -f "$logs"/mvn*.log
}

# swap_into <finished dir> <dest>: a reader never sees a half-filled cache.
swap_into() {
  local done_dir="$1" dest="$2"
  rm -rf "$dest.old"
  if [ -e "$dest" ]; then mv "$dest" "$dest.old"; fi
  mv "$done_dir" "$dest"
  rm -rf "$dest.old"
}

# sha256 of stdin, hex only.
sha256_hex() {
  { sha256sum 2>/dev/null || shasum -a 256; } | cut -d' ' -f1
}
