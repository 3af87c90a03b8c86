#!/usr/bin/env bash
# Factory's exact Q4_1 row product against an 8-bit-activation VNNI prototype (bench/BlockProductsInt8/main.c):
# milliseconds per product at 1–16 inputs and the prototype's relative error. Needs gcc and a CPU with
# AVX-512 VNNI. Usage: bench/block_products_int8.sh
set -euo pipefail
cd "$(dirname "$0")/.."
grep -o 'avx512_vnni\|avx512f\|avx2' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
gcc -O3 -march=haswell -I Plugins/Quantizers/BlockProducts/include bench/BlockProductsInt8/main.c Plugins/Quantizers/BlockProducts/BlockProducts.c \
  -o /tmp/factory-block-products-int8 -lm
/tmp/factory-block-products-int8
