# shellcheck shell=bash
# Helpers to assemble image root file systems from host files (source it from an image recipe).

# rootfs_busybox ROOT: a static busybox with the applets the tests and the demo use.
rootfs_busybox() {
  local root="$1" applet
  # A dynamic busybox (Debian's `busybox` instead of `busybox-static`) would not run in an image without libc.
  if [[ ! -x /bin/busybox ]] || ldd /bin/busybox >/dev/null 2>&1; then
    echo "rootfs_busybox: /bin/busybox is missing or not static (apt-get install busybox-static)" >&2
    return 1
  fi
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  chmod 1777 "$root/tmp"
  install -m 0755 /bin/busybox "$root/bin/busybox"
  for applet in sh sleep cat ls ln rm mkfifo dd printf true echo mkdir chmod id; do
    ln -sf busybox "$root/bin/$applet"
  done
}

# rootfs_host_binary ROOT PATH: copies a host executable with the shared libraries it loads and its ELF
# interpreter, at the same paths (what a distroless image holds).
rootfs_host_binary() {
  local root="$1" path="$2" lib
  [[ -x $path ]] || { echo "rootfs_host_binary: $path is not an executable" >&2; return 1; }
  install -D -m 0755 "$(readlink -f "$path")" "$root$path"
  for lib in $(ldd "$path" 2>/dev/null | grep -oE '/[^ ]+' | sort -u); do
    if [[ -e $lib ]]; then install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"; fi
  done
}

# rootfs_static_c ROOT PATH SOURCE: compiles a small C program statically into the root.
rootfs_static_c() {
  local root="$1" path="$2" source="$3" tmp
  tmp="$(mktemp -d)"
  printf '%s\n' "$source" >"$tmp/main.c"
  gcc -static -O2 -o "$tmp/prog" "$tmp/main.c"
  install -D -m 0755 "$tmp/prog" "$root$path"
  rm -rf "$tmp"
}
