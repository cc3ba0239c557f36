# shellcheck shell=bash
# Shared helpers of the rt-* image recipes (runtime and framework detection on real containers). Not an image:
# source it from a recipe after hack/e2e/rootfs.sh.
#
# Each recipe records what the artifacts it copies say about themselves (versions read from the files or from
# running the very same binary ON THE HOST before it is copied) as KEY=VALUE lines in
# $RT_FACTS_DIR/<image>.facts; test/e2e/runtimes.e2e.test.ts builds its expected tree from them.

# shellcheck source=hack/lib/cache.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../../../hack/lib/cache.sh"
rt_cache="$CONTAINER_SCANNER_CACHE"
rt_m2="$rt_cache/m2"

# rt_fact IMAGE KEY VALUE
rt_fact() {
  [[ -n ${RT_FACTS_DIR:-} ]] || return 0
  [[ $3 =~ ^[[:print:]]+$ ]] || { echo "rt_fact: $1 $2 has no printable value" >&2; return 1; }
  mkdir -p "$RT_FACTS_DIR"
  printf '%s=%s\n' "$2" "$3" >>"$RT_FACTS_DIR/$1.facts"
}

# rt_reset_facts IMAGE: a rebuilt image starts a fresh facts file.
rt_reset_facts() { [[ -z ${RT_FACTS_DIR:-} ]] || rm -f "$RT_FACTS_DIR/$1.facts"; }

# rt_os_release ROOT IMAGE: this machine's real Debian os-release, laid out as Debian lays it out.
rt_os_release() {
  local root="$1" image="$2" file
  file="$(readlink -f /etc/os-release)"
  mkdir -p "$root/usr/lib" "$root/etc"
  cp "$file" "$root/usr/lib/os-release"
  ln -sf ../usr/lib/os-release "$root/etc/os-release"
  # shellcheck disable=SC1090 # the os-release format is shell assignments
  rt_fact "$image" os_id "$(. "$file" && echo "$ID")"
  # shellcheck disable=SC1090
  rt_fact "$image" os_version_id "$(. "$file" && echo "$VERSION_ID")"
}

# rt_libs ROOT ELF...: the system libraries the given ELF files load (host paths), and the ELF interpreter.
rt_libs() {
  local root="$1" elf lib
  shift
  for elf in "$@"; do
    { ldd "$elf" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
      case "$lib" in */jvm/*) continue ;; esac
      [[ -e $root$lib ]] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
    done
  done
  [[ -e $root/lib64/ld-linux-x86-64.so.2 ]] || install -D -m 0755 "$(readlink -f /lib64/ld-linux-x86-64.so.2)" "$root/lib64/ld-linux-x86-64.so.2"
}

# rt_release_value FILE KEY: a value of a JDK `release` file.
rt_release_value() { sed -n "s/^$2=\"\\(.*\\)\"\$/\\1/p" "$1" | head -n 1; }

# rt_jdk ROOT JDK DEST IMAGE: copies a JDK home (release file, launchers, conf, libraries; no sources or
# symbols) to DEST inside ROOT with the system libraries it loads, and records its release file's values.
rt_jdk() {
  local root="$1" jdk="$2" dest="$3" image="$4" home
  [[ -f $jdk/release ]] || { echo "rt_jdk: $jdk has no release file" >&2; return 1; }
  home="$root$dest"
  mkdir -p "$home"
  cp -a "$jdk/release" "$jdk/bin" "$jdk/conf" "$jdk/lib" "$home/"
  rm -f "$home/lib/src.zip" "$home/lib/ct.sym"
  rt_libs "$root" "$home/bin/java" "$home/lib/server/libjvm.so" "$home"/lib/*.so
  rt_fact "$image" java_version "$(rt_release_value "$jdk/release" JAVA_VERSION)"
  rt_fact "$image" java_implementor "$(rt_release_value "$jdk/release" IMPLEMENTOR)"
}

# rt_temurin: the newest Temurin JDK of this machine.
rt_temurin() {
  local jdk
  jdk="$(printf '%s\n' /usr/lib/jvm/temurin-*-jdk-amd64 | sort -V | tail -n 1)"
  [[ -d $jdk ]] || { echo "no Temurin JDK under /usr/lib/jvm" >&2; return 1; }
  echo "$jdk"
}

# rt_hash FILE...: a short content hash of the given files (keys the build caches).
rt_hash() { cat "$@" | sha256sum | cut -c1-16; }

# rt_maven_build SRC_DIR: builds the Maven project in SRC_DIR (sources and pom only) once per content hash
# into $rt_cache/rt-apps-<hash>/ with the shared Maven repo $rt_m2, and prints that folder.
rt_maven_build() {
  local src="$1" hash out tmp
  hash="$(cd "$src" && find . -type f | sort | xargs cat | sha256sum | cut -c1-16)"
  out="$rt_cache/rt-apps-$hash"
  if [[ ! -f $out/.done ]]; then
    tmp="$(mktemp -d)"
    cp -r "$src/." "$tmp/"
    (cd "$tmp" && mvn -B -q -Dmaven.repo.local="$rt_m2" -DskipTests package >"$tmp/mvn.log" 2>&1) || {
      tail -n 40 "$tmp/mvn.log" >&2
      echo "rt_maven_build: mvn package failed in $src" >&2
      return 1
    }
    rm -rf "$out"
    mkdir -p "$out"
    cp -r "$tmp/target/." "$out/"
    touch "$out/.done"
    rm -rf "$tmp"
  fi
  echo "$out"
}

# rt_download URL DEST: downloads once (cached), verifying the .sha1 Maven Central publishes beside it.
rt_download() {
  local url="$1" dest="$2" sum
  [[ -s $dest ]] && return 0
  mkdir -p "$(dirname "$dest")"
  curl -fsSL --retry 3 -o "$dest.part" "$url"
  sum="$(curl -fsSL --retry 3 "$url.sha1" | cut -c1-40)"
  [[ "$(sha1sum "$dest.part" | cut -c1-40)" == "$sum" ]] || { rm -f "$dest.part"; echo "rt_download: sha1 mismatch for $url" >&2; return 1; }
  mv "$dest.part" "$dest"
}

# rt_free_offset BASE...: a random offset O such that every port BASE+O is unused now (no TCP or UDP socket of
# this host has it as its local port, per `ss -Htanu`) and lies in 10000 and up, below the ephemeral range, so
# that no outgoing connection takes it before the server listens (pods share the host network, and some servers
# cannot be told to pick their own port and say which). The ports are also not among those handed out before in
# this suite's run (the ledger $RT_FACTS_DIR/ports): the images are all built before any server starts, so a
# port free at one image's build may be another's already.
rt_free_offset() {
  local low _ min=65535 max=0 base used=" " off tries ok ledger=""
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range
  for base in "$@"; do ((base < min)) && min=$base; ((base > max)) && max=$base; done
  ((low - max > 10000 - min)) || { echo "rt_free_offset: no room below the ephemeral range (from $low) for $*" >&2; return 1; }
  if [[ -n ${RT_FACTS_DIR:-} ]]; then
    mkdir -p "$RT_FACTS_DIR"
    ledger="$RT_FACTS_DIR/ports"
    touch "$ledger"
  fi
  # Every local port of every socket, as " P1 P2 ... " (the local address is the fifth column; IPv6 in brackets),
  # and every port of the ledger.
  used+="$({ ss -Htanu | awk '{ n = split($5, a, ":"); print a[n] }'; [[ -z $ledger ]] || cat "$ledger"; } |
    sort -u | tr '\n' ' ')"
  for ((tries = 0; tries < 1000; tries++)); do
    off=$((10000 - min + SRANDOM % (low - max - 10000 + min)))
    ok=1
    for base in "$@"; do [[ $used == *" $((base + off)) "* ]] && { ok=0; break; }; done
    if ((ok)); then
      [[ -z $ledger ]] || for base in "$@"; do echo "$((base + off))"; done >>"$ledger"
      echo "$off"
      return 0
    fi
  done
  echo "rt_free_offset: no free offset for $*" >&2
  return 1
}

# rt_free_port: one port free now (rt_free_offset).
rt_free_port() { rt_free_offset 0; }

# rt_jar_entry JAR ENTRY [INNER_ENTRY]: the bytes of ENTRY in the jar (zip); with INNER_ENTRY, those of INNER_ENTRY
# in the jar ENTRY nested in JAR (a fat jar's BOOT-INF/lib/x.jar). Fails if an entry is missing.
rt_jar_entry() {
  local tmp rc=0
  if (($# == 2)); then unzip -p "$1" "$2" && return 0; echo "rt_jar_entry: no $2 in $1" >&2; return 1; fi
  tmp="$(mktemp)"
  rt_jar_entry "$1" "$2" >"$tmp" && rt_jar_entry "$tmp" "$3" || rc=$?
  rm -f "$tmp"
  return "$rc"
}

# rt_line_value PREFIX: the rest of the first line of stdin that starts with PREFIX, without surrounding
# whitespace (a manifest header with "Key:", a properties value with "key="); fails if there is none. Reads all
# of stdin, so that the writer never dies of SIGPIPE.
rt_line_value() {
  awk -v prefix="$1" '!found && index($0, prefix) == 1 { v = substr($0, length(prefix) + 1); gsub(/^[ \t\r]+|[ \t\r]+$/, "", v); print v; found = 1 }
    END { if (!found) { print "rt_line_value: no line starts with " prefix > "/dev/stderr"; exit 1 } }'
}

# rt_manifest_value KEY JAR [NESTED_JAR]: a main-section header of the jar's META-INF/MANIFEST.MF (first line only),
# or of the jar NESTED_JAR inside JAR.
rt_manifest_value() { rt_jar_entry "${@:2}" META-INF/MANIFEST.MF | rt_line_value "$1:"; }

# rt_jar_names JAR ERE: the entry names of the jar that match the extended regular expression (whole name), at
# least one.
rt_jar_names() {
  unzip -Z1 "$1" | grep -E "^($2)\$" || { echo "rt_jar_names: nothing matches $2 in $1" >&2; return 1; }
}

# rt_go_field BINARY KEY: a field of what the Go tool itself reads from a binary's build info (`go version -m`):
# `go` for the Go version, `path` for the main package, `mod` for the main module's "path version".
rt_go_field() {
  local info
  info="$(go version -m "$1")"
  case "$2" in
    go) sed -n '1s/^.*: //p' <<<"$info" ;;
    *) awk -F'\t' -v key="$2" '$2 == key { $1 = $2 = ""; sub(/^ +/, ""); print; exit }' <<<"$info" | cut -d' ' -f1-2 ;;
  esac
}

# rt_npm_tarball PACKAGE VERSION SHA512: the package's tarball from the npm registry (fetched by npm itself, once,
# cached under $rt_cache/npm/), checked against the pinned sha512 (npm's `integrity`, in hex); prints its path.
rt_npm_tarball() {
  local package="$1" version="$2" sha512="$3" cache tgz tmp
  cache="$rt_cache/npm/${package//\//+}-$version"
  tgz="$cache/package.tgz"
  if [[ ! -s $tgz ]]; then
    mkdir -p "$cache"
    tmp="$(mktemp -d "$cache/.pack.XXXXXX")"
    (cd "$tmp" && npm pack --silent "$package@$version" >"$tmp/name" 2>"$tmp/npm.log") || {
      cat "$tmp/npm.log" >&2; rm -rf "$tmp"; echo "rt_npm_tarball: npm pack $package@$version failed" >&2; return 1
    }
    mv "$tmp/$(tail -n 1 "$tmp/name")" "$tgz.part"
    rm -rf "$tmp"
    mv "$tgz.part" "$tgz"
  fi
  [[ "$(sha512sum "$tgz" | cut -d' ' -f1)" == "$sha512" ]] || {
    rm -f "$tgz"; echo "rt_npm_tarball: $package@$version does not match its pinned sha512" >&2; return 1
  }
  echo "$tgz"
}

# rt_svm_value FILE SUFFIX: the one value of the `com.oracle.svm.core.VM<SUFFIX>=` string of a GraalVM native
# image (read with grep, not with our scanner); fails unless there is exactly one distinct value.
rt_svm_value() {
  local values
  values="$(LC_ALL=C grep -a -o "com\\.oracle\\.svm\\.core\\.VM$2=[[:print:]]*" "$1" | sed 's/^[^=]*=//' | sort -u)"
  [[ -n $values && $values != *$'\n'* ]] || { echo "rt_svm_value: not exactly one com.oracle.svm.core.VM$2 in $1: '$values'" >&2; return 1; }
  echo "$values"
}
