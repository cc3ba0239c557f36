# shellcheck shell=bash
# Helpers of the rt-* recipes of Debian's native servers (rt-nginx, rt-apache, rt-haproxy, rt-mariadb, rt-redis,
# rt-valkey, rt-mysql): source it after rt-lib/lib.sh. The packages are fetched and unpacked once by
# hack/fetch-debian-servers into the artifacts cache (the same copies the fingerprints unit tests read).

rt_debian_base="${CONTAINER_SCANNER_ARTIFACTS:-$rt_cache/artifacts}/debian-servers"
# shellcheck disable=SC1091 # os-release is shell assignments
rt_debian_host_suite="$(. /etc/os-release && echo "$VERSION_CODENAME")"

# rt_debian_package PACKAGE [SUITE]: fetches (once) and prints the folder PACKAGE of SUITE (default: this machine's
# release) is unpacked in, with its control Version in .version; its .deb is beside it.
rt_debian_package() {
  local package="$1" suite="${2:-$rt_debian_host_suite}" only=--host-only
  [[ $suite == "$rt_debian_host_suite" ]] || only=
  # shellcheck disable=SC2154 # $repo is the recipe's
  [[ -f $rt_debian_base/$suite/$package/.version ]] || "$repo/hack/fetch-debian-servers" "$rt_debian_base" ${only:+"$only"} >&2
  [[ -f $rt_debian_base/$suite/$package/.version ]] ||
    { echo "rt_debian_package: $suite/$package is not fetched by hack/fetch-debian-servers" >&2; return 1; }
  echo "$rt_debian_base/$suite/$package"
}

# rt_debian_upstream VERSION: Debian policy's upstream version ([epoch:]upstream[-revision], a repacked source
# marked +dfsg<n> or +ds<n>), written here on its own (the scanner has its own rule; the test compares them).
rt_debian_upstream() { sed -e 's/^[0-9]*://' -e 's/-[^-]*$//' -e 's/+\(dfsg\|ds\)[0-9]*$//' <<<"$1"; }

# rt_debian_depends DEB: the first alternative of each dependency of DEB that is a library (lib*, zlib1g).
rt_debian_depends() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/ //g' |
    grep -E '^(lib|zlib1g$)' || true
}

# rt_debian_libraries PACKAGE: installs on this machine the libraries PACKAGE (of this release) depends on that
# it lacks (libraries only, never a server), so that rt_libs finds them with ldd.
rt_debian_libraries() {
  local wanted=() name
  while read -r name; do
    dpkg-query -W -f '${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' || wanted+=("$name")
  done < <(rt_debian_depends "$rt_debian_base/$rt_debian_host_suite/$1.deb")
  ((${#wanted[@]})) || return 0
  echo "rt_debian_libraries: installing ${wanted[*]} (libraries $1 loads)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}" >&2 ||
    { apt-get -q update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}" >&2; }
}

# rt_debian_foreign_libraries ROOT SUITE PACKAGE: unpacks into ROOT the libraries PACKAGE of SUITE (a release newer
# than this machine's) loads, with their own dependencies and that release's C library and loader (fetched once
# through hack/fetch-debian-servers' private apt configuration, kept under <suite>/libs/).
rt_debian_foreign_libraries() {
  local root="$1" suite="$2" package="$3" apt_dir="$rt_debian_base/apt" debs="$rt_debian_base/$2/libs" closure name deps
  local missing=()
  local options=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Default-Release=$suite" -o APT::Sandbox::User=root)
  mapfile -t deps < <(rt_debian_depends "$rt_debian_base/$suite/$package.deb")
  mapfile -t closure < <(apt-cache "${options[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
    --no-breaks --no-replaces --no-enhances "${deps[@]}" |
    grep -E '^(lib|zlib1g$|gcc-[0-9]+-base$)' | sort -u)
  mkdir -p "$debs"
  chmod 0755 "$debs" # apt's sandbox user writes there
  for name in "${closure[@]}"; do
    compgen -G "$debs/${name}_*.deb" >/dev/null || missing+=("$name")
  done
  # One apt-get for all: each run reads the whole of both releases' package lists (seconds of CPU per run).
  if ((${#missing[@]})); then (cd "$debs" && apt-get "${options[@]}" -q download "${missing[@]}" >/dev/null); fi
  for name in "${closure[@]}"; do
    dpkg-deb -x "$(compgen -G "$debs/${name}_*.deb" | head -n 1)" "$root"
  done
  # The loader at the path executables name (/lib64/ld-linux-x86-64.so.2), as the release's usr-merged layout has it.
  [[ -e $root/lib64 ]] || ln -s usr/lib64 "$root/lib64"
  [[ -e $root/lib ]] || ln -s usr/lib "$root/lib"
}

# rt_debian_fact IMAGE KEY PACKAGE_DIR EVIDENCE: records the upstream version of the package unpacked in PACKAGE_DIR
# (its control Version) as fact KEY, after checking that the server's own bytes (the EVIDENCE text, grepped from
# the executable) contain it.
rt_debian_fact() {
  local image="$1" key="$2" dir="$3" evidence="$4" version
  version="$(rt_debian_upstream "$(cat "$dir/.version")")"
  [[ $evidence == *"$version"* ]] || { echo "rt_debian_fact: $dir says $version, its bytes '$evidence'" >&2; return 1; }
  rt_fact "$image" "$key" "$version"
}
