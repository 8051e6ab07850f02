#!/bin/sh
# Starts @SCHEME@ (@KIND@) under Node.js (splunkd runs this file on Linux and macOS).
# Node.js @MIN_NODE@ or later is looked for in this order:
#   1. the runtime bundled in platform packages: <app>/linux_x86_64/bin/node (or linux_aarch64, darwin_*)
#   2. [runtime] node_path in defender_xdr_settings.conf (local/ over default/)
#   3. $TA_DEFENDER_XDR_NODE (e.g. set in $SPLUNK_HOME/etc/splunk-launch.conf)
#   4. Splunk's own node, $SPLUNK_HOME/bin/node (Splunk Enterprise before 10.2)
#   5. node on PATH
# If none fits, one ERROR line goes to splunkd.log (index=_internal) and @SCHEME@ does not run.
# splunkd runs this for every poll, so it forks and execs as little as it can (each exec of a
# small tool costs ~1 ms of CPU): paths come from the shell's own expansions, and each candidate
# below is worked out only when the ones before it did not fit.
case $0 in */*) BIN_DIR=${0%/*} ;; *) BIN_DIR=. ;; esac
[ -n "$BIN_DIR" ] || BIN_DIR=/
BIN_DIR=$(CDPATH= cd -- "$BIN_DIR" && pwd)
APP_DIR=${BIN_DIR%/*}
case "$(uname -sm)" in
  "Linux x86_64") ARCH_DIR=linux_x86_64 ;;
  "Linux aarch64"|"Linux arm64") ARCH_DIR=linux_aarch64 ;;
  "Darwin arm64") ARCH_DIR=darwin_arm64 ;;
  "Darwin x86_64") ARCH_DIR=darwin_x86_64 ;;
  *) ARCH_DIR=unknown ;;
esac

# The first non-empty node_path of [runtime], local/ over default/; one sed per file, which also
# drops the spaces around the value and a Windows line end.
conf_node_path() {
  for conf in "$APP_DIR/local/defender_xdr_settings.conf" "$APP_DIR/default/defender_xdr_settings.conf"; do
    [ -f "$conf" ] || continue
    value=$(sed -n -e '/^\[runtime\]/,/^\[/s/^[[:space:]]*node_path[[:space:]]*=[[:space:]]*\([^[:space:]]\(.*[^[:space:]]\)\{0,1\}\)[[:space:]]*$/\1/p' "$conf")
    if [ -n "$value" ]; then
      printf '%s\n' "${value%%
*}"
      return
    fi
  done
}

# V8 flags, and why each. Memory follows the live set (a few pages), not the backlog: after a
# full GC the heap may grow to 2x what survived (V8's default: up to 4x), and the young generation
# of the main thread (which no longer parses pages, see pageParser.ts) stays small. Measured at
# 100k alerts: peak RSS 175-222 MB with neither, 158-168 MB with both; 1.3x cost +25% CPU.
# undici's HTTP parser is WebAssembly, which V8 otherwise recompiles with its optimising compiler
# once it has run a while: ~60 ms of CPU on a background thread in every poll, which the process
# also waits for before it exits, and ~35 MB of compiler memory, for a parser that reads only
# headers and body framing (a quiet poll: 667 -> 554 ms, peak RSS 117 -> 82 MB). --liftoff-only
# keeps WebAssembly on the baseline compiler (V8 calls it a testing flag: see the probe below); a
# large --wasm-tiering-budget did the same for a quiet poll but raised peak RSS at 100k alerts
# (146 -> 173 MB): the recompilation then came mid-run, at the heap's peak.
# The young generation is set per input kind by the build: 4 MB for the Graph and Defender for
# Endpoint inputs; 8 MB for the streaming inputs, whose batches of ~1,000 small records outlived a
# 4 MB one and were copied and promoted (CPU per 100k records at 60k, medians of 3 interleaved
# runs: blob 2.8 -> 2.4 s, Event Hubs 3.9 -> 3.5 s; peak RSS +9 MB). Without the heap-growing
# flag the Event Hubs input went over 200 MB (205-225 MB).
V8_FLAGS="--max-semi-space-size=@SEMI_SPACE_MB@ --heap-growing-percent=100 --liftoff-only"

# `node --version` answers before the VM starts, so probing a candidate costs next to nothing.
# The probe carries the V8 flags: a node whose V8 refuses one (a later V8 may drop a flag) runs
# without them rather than not at all.
fits() {
  [ -n "$1" ] && [ -f "$1" ] && [ -x "$1" ] || return 1
  if version=$("$1" $V8_FLAGS --version 2>/dev/null); then
    flags=$V8_FLAGS
  else
    version=$("$1" --version 2>/dev/null) || return 1
    flags=
  fi
  major=${version#v}
  major=${major%%.*}
  case "$major" in '' | *[!0-9]*) return 1 ;; esac
  [ "$major" -ge @MIN_NODE@ ]
}

# Execs the node in $1 with the script's arguments (the rest) if it fits; returns if it does not.
run_if_fits() {
  node=$1
  shift
  if fits "$node"; then
    # Page bodies (~5 MB each) go back to the OS when freed: glibc otherwise raises its mmap
    # threshold at the first such free and serves later bodies from its heap, which keeps what
    # they leave (measured at 100k alerts: peak RSS 169-184 MB without, 150-157 MB with). A value
    # set for splunkd wins; other C libraries ignore it.
    MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-131072}
    export MALLOC_MMAP_THRESHOLD_
    # $flags unquoted: it is a list of words.
    exec "$node" $flags "$BIN_DIR/@ENTRY@" "$@"
  fi
}

run_if_fits "$APP_DIR/$ARCH_DIR/bin/node" "$@"
run_if_fits "$(conf_node_path)" "$@"
run_if_fits "$TA_DEFENDER_XDR_NODE" "$@"
run_if_fits "${SPLUNK_HOME:+$SPLUNK_HOME/bin/node}" "$@"
run_if_fits "$(command -v node 2>/dev/null)" "$@"

echo "ERROR @SCHEME@: no Node.js @MIN_NODE@ or later found. Install the platform package of the add-on (with its bundled runtime), or set [runtime] node_path in defender_xdr_settings.conf, or install Node.js @MIN_NODE@+ on this host." >&2
exit 1
