#!/usr/bin/env bash
# One call on a lent CUDA machine (the `device` tool's `run`): the CUDA tests, then
# the GPU benchmarks, logs under $OUT. Sized to finish in about 7 minutes.
#
#   run(command="bash benchmarks/gpu_check.sh", timeout_s=540)
#
# The machine's image has python3 with CUDA torch, scikit-learn, pytest,
# pandas, tqdm, rich and safetensors (no skorch: its rows are left out).
set -uo pipefail
OUT="${OUT:-/tmp/gpu_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
PY=python3
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  $PY -c "import torch, sklearn; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), 'sklearn', sklearn.__version__)"
} 2>&1 | tee "$OUT/env.txt"

echo "== CUDA tests"
timeout 180 $PY -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py tests/test_precision.py tests/optim/test_optimizers.py \
  2>&1 | tee "$OUT/tests.txt" | tail -15

echo "== W2 on the GPU (scikit-learn on the CPU)"
timeout 150 $PY benchmarks/run.py --only W2 --device cuda --libs "scikit-learn,torch loop,skdl" \
  --repeats 3 --out "$OUT/w2_cuda.md" > "$OUT/w2_cuda.log" 2>&1
tail -8 "$OUT/w2_cuda.md" 2>/dev/null || tail -20 "$OUT/w2_cuda.log"

echo "== precision on the GPU (W2)"
timeout 90 $PY benchmarks/bench_precision.py --device cuda --workload W2 > "$OUT/precision_cuda.md" 2>&1
tail -8 "$OUT/precision_cuda.md"

echo "== fused search on the GPU (scikit-learn's searches on the CPU)"
timeout 200 $PY benchmarks/bench_search.py --device cuda --repeats 1 --out "$OUT/search_cuda.md" \
  > "$OUT/search_cuda.log" 2>&1
tail -16 "$OUT/search_cuda.md" 2>/dev/null || tail -20 "$OUT/search_cuda.log"
