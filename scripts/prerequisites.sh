#!/usr/bin/env bash
# Makes sure this machine has what `make demo` (GROUP=build) or `make test` (GROUP=test, which includes build)
# needs, so that the README's two commands pass on a fresh machine with no other step:
# - the Debian packages of scripts/system-packages.txt: installed when missing and we are root (as on the
#   developers' and CI machines), otherwise we stop at once naming the packages and the command;
# - for tests, the official JSON Schema test suite (draft 2020-12), taken from the `jsonschema` source
#   distribution on PyPI, which carries it; it is kept in the build folder, never committed.
# Usage: scripts/prerequisites.sh build|test SCRATCH_DIR
set -euo pipefail
group="${1:?usage: prerequisites.sh build|test SCRATCH_DIR}"
scratch="${2:-.build}"
here="$(cd "$(dirname "$0")" && pwd)"

wanted=()
while read -r pkg_group package _; do
    case "$pkg_group" in ''|'#'*) continue ;; esac
    if [ "$pkg_group" = build ] || [ "$group" = test ]; then wanted+=("$package"); fi
done <"$here/system-packages.txt"

missing=()
for package in "${wanted[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "missing system packages: ${missing[*]}" >&2
        echo "install them first: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "installing the missing system packages: ${missing[*]}"
    apt-get update -qq
    # postgresql's postinst starts the system cluster and fails the install if that fails (as in a container
    # without an init system); the tests need no system service, so none is started while installing.
    own_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        own_policy=yes
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
fi

[ "$group" = test ] || exit 0

# The JSON Schema test suite the validator is checked against (JSONSchemaSuiteTests reads it from here, or
# from SLUICE_JSON_SCHEMA_SUITE when that names a copy of its tests/draft2020-12 folder: nothing to fetch then).
if [ -n "${SLUICE_JSON_SCHEMA_SUITE:-}" ]; then
    [ -d "$SLUICE_JSON_SCHEMA_SUITE" ] || { echo "SLUICE_JSON_SCHEMA_SUITE=$SLUICE_JSON_SCHEMA_SUITE is not a folder" >&2; exit 1; }
    exit 0
fi
suite="$scratch/json-schema-test-suite"
version=4.26.0
# The source distribution's digest as PyPI publishes it: what is unpacked is exactly that release.
sha256=0c26707e2efad8aa1bfc5b7ce170f3fccc2e4918ff85989ba9ffa9facb2be326
if [ ! -f "$suite/.version-$version" ]; then
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    echo "fetching the JSON Schema test suite (jsonschema $version source distribution, PyPI)"
    archive="$download/jsonschema-$version.tar.gz"
    if python3 -m pip --version >/dev/null 2>&1; then
        # pip follows the machine's index settings (a mirror, a proxy, a certificate).
        python3 -m pip download -q --no-binary :all: --no-deps -d "$download" "jsonschema==$version" >"$download/fetch.log" 2>&1 || true
    else
        # No pip: the same file from PyPI's simple index.
        python3 - "$version" "$archive" >"$download/fetch.log" 2>&1 <<'PY' || true
import re, sys, urllib.request
version, target = sys.argv[1], sys.argv[2]
index = urllib.request.urlopen("https://pypi.org/simple/jsonschema/", timeout=60).read().decode()
link = re.search(r'href="([^"#]*jsonschema-%s\.tar\.gz)' % re.escape(version), index).group(1)
urllib.request.urlretrieve(link, target)
PY
    fi
    if [ ! -f "$archive" ] || ! echo "$sha256  $archive" | sha256sum -c --quiet - >/dev/null 2>&1; then
        cat "$download/fetch.log" >&2
        echo "could not fetch jsonschema==$version (sha256 $sha256) from PyPI, which carries the JSON Schema test suite;" >&2
        echo "set SLUICE_JSON_SCHEMA_SUITE to a copy of JSON-Schema-Test-Suite's tests/draft2020-12 folder to run without it" >&2
        exit 1
    fi
    rm -rf "$suite" && mkdir -p "$suite"
    tar -xzf "$archive" -C "$download"
    cp -R "$download/jsonschema-$version/json/." "$suite/"
    touch "$suite/.version-$version"
fi
