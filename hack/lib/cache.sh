# shellcheck shell=bash
# The one root of every cache the scripts, the image recipes and the tests keep between runs (fetched
# artifacts, Maven's repository, the Kubernetes and cargo-fuzz builds, image inputs), each folder inside keyed by
# its version or a hash of its recipe. CONTAINER_SCANNER_CACHE moves it: an empty folder gives a cold run
# (docs/ci.md) without touching the warm one. Exported, so that what the scripts start sees the same root.
# Sourced by init.sh, and by the image recipes (test/e2e/images/rt-lib/lib.sh), which run on their own too.
export CONTAINER_SCANNER_CACHE="${CONTAINER_SCANNER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/container-scanner}"
