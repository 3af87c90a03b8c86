#!/usr/bin/env bash
# Runs the whole test suite: builds every target (the factory binary and the plugin libraries are
# run by the CLI tests), a release build as well (the tests that train SmolLM2 run the release
# binary: numeric loops in a debug build are ~20x slower), then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release
swift build --build-tests
swift test --skip-build --disable-swift-testing "$@"
