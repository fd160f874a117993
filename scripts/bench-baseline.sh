#!/usr/bin/env bash
# Builds the sluice of an older commit in release, for `make bench` to measure against in the same run.
# Usage: scripts/bench-baseline.sh COMMIT SCRATCH
# The commit is checked out with `git worktree add` in a temporary folder, so this checkout is untouched;
# its build goes to SCRATCH (its own folder, kept: a second call with the same commit does nothing).
# This checkout's Package.resolved is copied in when there is one, so both builds use the same dependency
# versions and the comparison is of sluice's own code.
set -euo pipefail
commit="${1:?usage: bench-baseline.sh COMMIT SCRATCH}"
scratch="${2:?usage: bench-baseline.sh COMMIT SCRATCH}"
swift="${SWIFT:-swift}"
full="$(git rev-parse --verify "$commit^{commit}")"
stamp="$scratch/baseline-commit"

if [ -x "$scratch/release/sluice" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$full" ]; then
    echo "baseline $commit already built: $scratch/release/sluice"
    exit 0
fi

tree="$(mktemp -d "${TMPDIR:-/tmp}/sluice-baseline.XXXXXX")"
cleanup() { git worktree remove --force "$tree" 2>/dev/null || rm -rf "$tree"; git worktree prune; }
trap cleanup EXIT
git worktree add --detach "$tree" "$full" >/dev/null
[ -f Package.resolved ] && cp Package.resolved "$tree/Package.resolved"

mkdir -p "$scratch"
scratch="$(cd "$scratch" && pwd)"
echo "building $commit in release into $scratch (about 10 minutes on 2 cores; once)"
(cd "$tree" && "$swift" build --scratch-path "$scratch" -c release --product sluice)
echo "$full" >"$stamp"
echo "baseline $commit built: $scratch/release/sluice"
