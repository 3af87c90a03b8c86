#!/usr/bin/env bash
# bf16 GEMM candidates for issue 22 (bench/Bf16Gemm/main.c): OpenBLAS fp32 (Haswell and SkylakeX kernels) against
# oneDNN fp32 and bf16→fp32, 2 threads.
# Needs gcc, libopenblas-dev and libdnnl-dev (Debian). Usage: bench/bf16_gemm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
grep -o 'avx512_bf16\|amx_bf16\|avx512f' /proc/cpuinfo | sort -u | tr '\n' ' '; echo
gcc -O2 bench/Bf16Gemm/main.c -o /tmp/factory-bf16-gemm -lopenblas -ldnnl -lm
echo "OpenBLAS with its Haswell kernels (what Debian's build picks on this CPU):"
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /tmp/factory-bf16-gemm
echo "OpenBLAS with its SkylakeX kernels (OPENBLAS_CORETYPE=SKYLAKEX, what factory sets for itself):"
OPENBLAS_CORETYPE=SKYLAKEX OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 /tmp/factory-bf16-gemm
