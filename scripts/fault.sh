#!/usr/bin/env bash
# scripts/fault.sh [--budget B] [--kinds "alloc isl sqlite write"]
#                  [--scenarios "tune compile"] [--persist] [--keep DIR]:
# the full fault-injection sweep (tests/fault/fault.sh --full): a small
# `ftc tune` and `ftc compile` with the N-th allocation, SQLite write or
# file write failing, for every N up to the count of a clean run; with
# more events than B (--budget; default: every N, allocations 400), the
# first B/2 values and B/2 more spread evenly up to the count.  Builds build/ as ./test does ($FTC_BUILD names another build
# folder: build-ci adds the leak and sanitizer checks).  --persist: the
# N-th event and all later ones fail (a full disk).  Runs under nice;
# prints one line per failure and a summary.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

case "${1:-}" in -h | --help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
dir=${FTC_BUILD:-$FTC_ROOT/build}
ftc_install_deps
[ -f "$dir/build.ninja" ] || ftc_build "$dir" -Dwerror=false
meson compile -C "$dir" compiler/ftc tests/ftc_fault_shim >/dev/null
exec nice "$FTC_ROOT/tests/fault/fault.sh" --full "$@" "$dir/compiler/ftc" "$dir/tests/libftc_fault_shim.so"
