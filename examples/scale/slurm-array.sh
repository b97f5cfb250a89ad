#!/usr/bin/env bash
# Slurm array job: the same Grad-CAM run as indexed-job.yaml on 4 GPU nodes.
#   sbatch examples/scale/slurm-array.sh
# Slurm sets SLURM_ARRAY_TASK_ID (0..3) and SLURM_ARRAY_TASK_COUNT; loupe takes its shard from them
# (no flag needed; --shards 4 would say the same). A task that is preempted or fails can be
# resubmitted (sbatch --array=2 examples/scale/slurm-array.sh): it resumes from its manifest.
# Then, once all tasks are done (or as a dependent job: sbatch --dependency=afterok:JOBID ...):
#   loupe merge results/gradcam/part-{0,1,2,3} --out results/gradcam/all
#SBATCH --job-name=loupe-gradcam
#SBATCH --array=0-3
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=4
#SBATCH --time=04:00:00
#SBATCH --output=logs/loupe-%A_%a.log
set -euo pipefail
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/loupe-$SLURM_JOB_ID}"
mkdir -p "$XDG_RUNTIME_DIR"
MODELS="${MODELS:-$HOME/models}"
loupe explain --method gradcam \
  --model "$MODELS/SqueezeNet_deploy.prototxt" --weights "$MODELS/squeezenet_v1.0_decoded.caffemodel" \
  --layer fire9/concat \
  --images "${PHOTOS:-$HOME/photos}" \
  --out "results/gradcam/part-$SLURM_ARRAY_TASK_ID"
