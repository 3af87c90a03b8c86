#!/usr/bin/env bash
# Runs the whole test suite: builds every target (the factory binary and the
# plugin libraries are run by the CLI tests), then runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --build-tests
swift test --skip-build --disable-swift-testing "$@"
