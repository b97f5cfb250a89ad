#!/usr/bin/env bash
# Runs only the given spec files (the .mocharc's `spec` glob would add the whole suite to them).
exec npx mocha --no-config --node-option import=tsx --timeout 600000 --reporter spec "$@"
