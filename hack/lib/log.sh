# shellcheck shell=bash
# Messages of the scripts in hack/: all on stderr (stdout stays for what a script prints for its caller, such as
# a path or `export` lines), each prefixed with the script's name, so that the output of scripts that call each
# other stays readable. Set LOG_PREFIX before sourcing to choose another prefix.

LOG_PREFIX="${LOG_PREFIX:-$(basename "$0")}"

# log MESSAGE...: a line of progress.
log() { printf '%s: %s\n' "$LOG_PREFIX" "$*" >&2; }

# warn MESSAGE...: something went wrong, and the script carries on.
warn() { printf '%s: warning: %s\n' "$LOG_PREFIX" "$*" >&2; }

# fail MESSAGE...: the script cannot go on; exits 1 (EXIT traps still run).
fail() {
  printf '%s: FAILED: %s\n' "$LOG_PREFIX" "$*" >&2
  exit 1
}

# step MESSAGE...: a headline of the demos, for a human watching.
step() { printf '==> %s\n' "$*" >&2; }

# need_root WHY: fails unless the script runs as root.
need_root() { ((EUID == 0)) || fail "needs root ($*)"; }

# need_command COMMAND... : fails naming the first command that is not installed (hack/install-deps has them).
need_command() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || fail "$c is not installed (hack/install-deps installs the system packages)"
  done
}
