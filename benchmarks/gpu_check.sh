#!/usr/bin/env bash
# The GPU check (benchmarks/gpu_check.py): the Qwen recipes at Qwen2.5-0.5B-Instruct's real shape on one GPU, about
# 8 minutes, nothing from the Hub. From the repository root on a GPU machine:
#   make install TORCH="torch==2.13.0" EXTRAS=vllm     # or without EXTRAS: transformers generation only
#   benchmarks/gpu_check.sh                             # figures in runs/gpu-check/{report.txt,result.json}
set -euo pipefail
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1   # nothing from the Hub
cd "$(dirname "$0")/.."
exec "${PYTHON:-.venv/bin/python}" benchmarks/gpu_check.py "$@"
