#!/usr/bin/env bash
# This machine's memory read bandwidth with 1 and 2 threads (bench/MemoryBandwidth/main.c, AVX-512 loads): the
# ceiling of decoding, which reads every weight once per token. Needs gcc and AVX-512F. bench/memory_bandwidth.sh
set -euo pipefail
cd "$(dirname "$0")/.."
gcc -O2 -mavx512f -pthread bench/MemoryBandwidth/main.c -o /tmp/factory-memory-bandwidth
/tmp/factory-memory-bandwidth
