# shellcheck shell=bash
# What every script in hack/ sources first: REPO_ROOT (the repository's absolute path), the messages (log.sh)
# the process ownership (process.sh) and the cache root (cache.sh). Modelled on the layout of Kubernetes' hack/lib, written for this
# project.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/init.sh"      (from hack/; ../lib/init.sh from hack/<dir>/)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=hack/lib/log.sh
source "$REPO_ROOT/hack/lib/log.sh"
# shellcheck source=hack/lib/process.sh
source "$REPO_ROOT/hack/lib/process.sh"
# shellcheck source=hack/lib/cache.sh
source "$REPO_ROOT/hack/lib/cache.sh"
