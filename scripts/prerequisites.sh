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

# The JSON Schema test suite the validator is checked against (JSONSchemaSuiteTests reads it from here).
suite="$scratch/json-schema-test-suite"
version=4.26.0
if [ ! -f "$suite/.version-$version" ]; then
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    echo "fetching the JSON Schema test suite (jsonschema $version source distribution, PyPI)"
    if ! python3 -m pip download -q --no-binary :all: --no-deps -d "$download" "jsonschema==$version" >"$download/pip.log" 2>&1; then
        cat "$download/pip.log" >&2
        echo "could not download jsonschema==$version from PyPI (the JSON Schema suite); set SLUICE_JSON_SCHEMA_SUITE to a copy of" >&2
        echo "JSON-Schema-Test-Suite's tests/draft2020-12 folder to run without it" >&2
        exit 1
    fi
    rm -rf "$suite" && mkdir -p "$suite"
    tar -xzf "$download"/jsonschema-*.tar.gz -C "$download"
    cp -R "$download"/jsonschema-*/json/. "$suite/"
    touch "$suite/.version-$version"
fi
