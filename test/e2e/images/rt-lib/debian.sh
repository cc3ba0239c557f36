# shellcheck shell=bash
# Helpers of the rt-* recipes of Debian's native servers (rt-nginx, rt-apache, rt-haproxy, rt-mariadb, rt-redis):
# source it after rt-lib/lib.sh. The packages are this machine's release, fetched and unpacked once by
# hack/fetch-debian-servers into the artifacts cache (the same copies the fingerprints unit tests read).

rt_debian_dir="${CONTAINER_SCANNER_ARTIFACTS:-$rt_cache/artifacts}/debian-servers/$(. /etc/os-release && echo "$VERSION_CODENAME")"

# rt_debian_package PACKAGE: fetches (once) and prints the folder PACKAGE is unpacked in; its .deb is beside it.
# shellcheck disable=SC2154 # $repo is the recipe's
rt_debian_package() {
  [[ -f $rt_debian_dir/$1/.version ]] || "$repo/hack/fetch-debian-servers" "$(dirname "$rt_debian_dir")" --host-only >&2
  [[ -f $rt_debian_dir/$1/.version ]] || { echo "rt_debian_package: $1 is not fetched by hack/fetch-debian-servers" >&2; return 1; }
  echo "$rt_debian_dir/$1"
}

# rt_debian_upstream VERSION: Debian policy's upstream version ([epoch:]upstream[-revision]), written here on its
# own (the scanner has its own rule, which the test checks against this).
rt_debian_upstream() { sed -e 's/^[0-9]*://' -e 's/-[^-]*$//' <<<"$1"; }

# rt_debian_libraries PACKAGE: installs on this machine the libraries PACKAGE depends on that it lacks (never a
# server: only `lib*` and `zlib1g` packages, the first of each alternative), so that rt_libs finds them with ldd.
rt_debian_libraries() {
  local deb="$rt_debian_dir/$1.deb" wanted=() name
  while read -r name; do
    [[ $name == lib* || $name == zlib1g ]] || continue
    dpkg-query -W -f '${Status}' "$name" 2>/dev/null | grep -q 'install ok installed' || wanted+=("$name")
  done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/ //g')
  ((${#wanted[@]})) || return 0
  echo "rt_debian_libraries: installing ${wanted[*]} (libraries $1 loads)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}" >&2 ||
    { apt-get -q update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${wanted[@]}" >&2; }
}

# rt_debian_fact IMAGE KEY PACKAGE EVIDENCE: records the upstream version of PACKAGE (its control `Version`) as
# fact KEY, after checking that the server's own bytes (the EVIDENCE text, grepped from the executable, must
# contain it) say the same.
rt_debian_fact() {
  local image="$1" key="$2" package="$3" evidence="$4" version
  version="$(rt_debian_upstream "$(cat "$rt_debian_dir/$package/.version")")"
  [[ $evidence == *"$version"* ]] || { echo "rt_debian_fact: $package $version, but its bytes say '$evidence'" >&2; return 1; }
  rt_fact "$image" "$key" "$version"
}
