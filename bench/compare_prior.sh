#!/bin/sh
# Issue 14's comparison: the prior's KV-cached sampling step at 1024 steps of context, gen
# (`gen-bench prior`, release build) against the same architecture in PyTorch (bench/prior_torch.py),
# alternating three times in one run so both see the same machine: gen in F32 and in half precision
# (as `gen music` samples), PyTorch in float32 and bfloat16. Not part of the build, the tests
# or CI. Usage: bench/compare_prior.sh PYTHON_WITH_TORCH   (from the repository root)
set -e
py=${1:?usage: bench/compare_prior.sh PYTHON_WITH_TORCH (a python whose venv has torch)}
swift build -c release --product gen-bench >/dev/null
for i in 1 2 3; do
  OPENBLAS_NUM_THREADS=2 .build/release/gen-bench prior | grep -E '^prior sampling(,| step in half)'
  THREADS=2 "$py" bench/prior_torch.py models/prior/config.json
  THREADS=2 DTYPE=bfloat16 "$py" bench/prior_torch.py models/prior/config.json
done
