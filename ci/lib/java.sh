# Sourced by ./kdirect and the ci/ scripts: finds a JDK 22 or later (the final java.lang.foreign API).
# Order: $JAVA_HOME when it is new enough, else the newest JDK under /usr/lib/jvm. sudo drops JAVA_HOME,
# so the search must work without it.

# Prints the feature version (e.g. 25) of the JDK at $1, or nothing.
kdirect_jdk_version() {
  local release="$1/release" v
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$release" ]; then
    v=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$release")
  else
    v=$("$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')
  fi
  echo "$v"
}

# Prints the path of a JDK 22+; on failure explains what to install and returns 1.
kdirect_find_jdk() {
  local min=22 best="" best_v=0 dir v
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(kdirect_jdk_version "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$min" ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  for dir in /usr/lib/jvm/* /opt/java/* /usr/local/lib/jvm/*; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    v=$(kdirect_jdk_version "$dir")
    if [ -n "$v" ] && [ "$v" -ge "$min" ] && [ "$v" -gt "$best_v" ]; then best="$dir"; best_v="$v"; fi
  done
  if [ -n "$best" ]; then echo "$best"; return 0; fi
  echo "kdirect needs a JDK $min or later (the final java.lang.foreign API); found none in \$JAVA_HOME" \
       "(${JAVA_HOME:-unset}) or /usr/lib/jvm. Install one (e.g. Temurin 25) and set JAVA_HOME to it." >&2
  return 1
}

# Exports MAVEN_OPTS for running Maven on the JDK at $1: JDK 23+ warns about Maven's own use of sun.misc.Unsafe.
kdirect_maven_env() {
  local v; v=$(kdirect_jdk_version "$1")
  if [ -n "$v" ] && [ "$v" -ge 23 ]; then
    export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  fi
}
