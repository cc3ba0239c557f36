# shellcheck shell=bash
# The one way the scripts in hack/ own, check and stop the long-running processes they start (a private
# containerd, etcd, kube-apiserver, ...), across separate invocations (`up` in one, `down` in the next).
#
# A process is named by its pid and its start time (field 22 of /proc/PID/stat, clock ticks after boot): a pid
# can be reused by another process once ours has gone, the pair cannot. PIDFILE holds the pid, as every tool
# expects; PIDFILE.start holds the start time read right after the fork. A process counts as ours only if both
# match, so a reused pid is never signalled; and since the start time is fixed at the fork, a child is
# recognised at once, before and after its exec (no window in which it looks like someone else).
# Sourced after log.sh.

# proc_start_time PID: prints the process's start time; fails if there is no such process or it has exited
# (a zombie is not running any more).
proc_start_time() {
  local pid="$1" stat
  [[ $pid =~ ^[1-9][0-9]*$ ]] || return 1
  read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
  # After "PID (COMM) ", where COMM may itself hold ") ": field 3 (the state) is the first word.
  local -a fields
  read -r -a fields <<<"${stat##*) }"
  [[ ${fields[0]:-Z} != Z && -n ${fields[19]:-} ]] || return 1
  echo "${fields[19]}"
}

# proc_id PID: prints PID:START, the name of this very process (for proc_stop_ids); fails if it is not running.
proc_id() {
  local start
  start="$(proc_start_time "$1")" || return 1
  echo "$1:$start"
}

# proc_is PID:START: the process is still running (not a later one with the same pid).
proc_is() {
  local pid="${1%%:*}" start="${1#*:}"
  [[ -n $start && "$(proc_start_time "$pid" 2>/dev/null)" == "$start" ]]
}

# proc_record PIDFILE PID: records PID (a child just started) as the owner of PIDFILE.
proc_record() {
  local pidfile="$1" pid="$2"
  # The start time first: a reader that finds the pid also finds its start time. A child that already
  # died gets an empty one, and counts as not running.
  proc_start_time "$pid" >"$pidfile.start" || : >"$pidfile.start"
  echo "$pid" >"$pidfile"
}

# proc_spawn PIDFILE LOGFILE COMMAND...: starts COMMAND in its own session, detached from the caller (stdin
# from /dev/null, stdout and stderr to LOGFILE, without the lock descriptor 9 the scripts use), and records it.
proc_spawn() {
  local pidfile="$1" logfile="$2"
  shift 2
  setsid "$@" >"$logfile" 2>&1 </dev/null 9>&- &
  proc_record "$pidfile" "$!"
}

# proc_running PIDFILE: prints the pid if the process recorded in PIDFILE still runs; fails otherwise.
proc_running() {
  local pidfile="$1" pid start
  pid="$(cat "$pidfile" 2>/dev/null)" || return 1
  start="$(cat "$pidfile.start" 2>/dev/null)" || return 1
  proc_is "$pid:$start" || return 1
  echo "$pid"
}

# proc_stop_ids SECONDS PID:START...: TERM to each process still running, then KILL to those still there
# after SECONDS; returns once they are all gone.
proc_stop_ids() {
  local seconds="$1" id i
  shift
  local -a alive=()
  for id in "$@"; do proc_is "$id" && alive+=("$id"); done
  ((${#alive[@]})) || return 0
  for id in "${alive[@]}"; do kill -TERM "${id%%:*}" 2>/dev/null || true; done
  for ((i = 0; i < seconds * 10; i++)); do
    local -a still=()
    for id in "${alive[@]}"; do proc_is "$id" && still+=("$id"); done
    alive=("${still[@]}")
    ((${#alive[@]})) || return 0
    sleep 0.1
  done
  log "killing pids ${alive[*]%%:*} (still running ${seconds}s after SIGTERM)"
  for id in "${alive[@]}"; do kill -KILL "${id%%:*}" 2>/dev/null || true; done
  # KILL cannot be ignored; the kernel still needs a moment to tear a big process down.
  for ((i = 0; i < 50; i++)); do
    local -a remaining=()
    for id in "${alive[@]}"; do proc_is "$id" && remaining+=("$id"); done
    ((${#remaining[@]})) || return 0
    sleep 0.1
  done
  warn "pids ${remaining[*]%%:*} survived SIGKILL"
  return 1
}

# proc_stop PIDFILE SECONDS [WHAT]: stops the process recorded in PIDFILE, if it still runs (proc_stop_ids),
# and removes PIDFILE.
proc_stop() {
  local pidfile="$1" seconds="$2" what="${3:-}" pid rc=0
  if pid="$(proc_running "$pidfile")"; then
    [[ -z $what ]] || log "stopping $what (pid $pid)"
    proc_stop_ids "$seconds" "$pid:$(cat "$pidfile.start")" || rc=1
  fi
  rm -f "$pidfile" "$pidfile.start"
  return "$rc"
}
