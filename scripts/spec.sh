#!/usr/bin/env bash
# Runs the given spec files only (npm test runs them all), with the .mocharc's setup (tsx, and
# spec/fresh-build.ts: dist/ rebuilt when a source file is newer) after refreshing the kernels module.
set -e
node "$(dirname "$0")/gen-kernels.mjs"
exec npx mocha "$@"
