#!/usr/bin/env bash
# Runs only the given spec files (the .mocharc's `spec` glob would add the whole suite to them),
# after refreshing kernels/wgsl.generated.ts.
set -e
node "$(dirname "$0")/gen-kernels.mjs"
exec npx mocha --no-config --node-option import=tsx --timeout 600000 --reporter spec "$@"
