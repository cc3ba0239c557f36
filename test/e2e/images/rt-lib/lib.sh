# shellcheck shell=bash
# Shared helpers of the rt-* image recipes (runtime and framework detection on real containers). Not an image:
# source it from a recipe after hack/e2e/rootfs.sh.
#
# Each recipe records what the artifacts it copies say about themselves (versions read from the files or from
# running the very same binary ON THE HOST before it is copied) as KEY=VALUE lines in
# $RT_FACTS_DIR/<image>.facts; test/e2e/runtimes.e2e.test.ts builds its expected tree from them.

rt_cache="${HOME}/.cache/container-scanner"
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

# rt_free_port: a TCP port free on loopback now (pods share the host network, and some servers cannot be told
# to pick their own port and say which).
rt_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

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
