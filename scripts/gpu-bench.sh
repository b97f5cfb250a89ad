#!/usr/bin/env bash
# The full `loupe bench` on a machine with a real GPU, for figures that a software adapter cannot give.
#
# Needs: Debian or Ubuntu with the GPU vendor's Vulkan driver (NVIDIA's, or Mesa's radv / anv),
# Node 20+ and npm, this checkout with the shared data beside it in ../shared/data (or DATA=DIR).
# Installs nothing system-wide: `npm ci` (only when node_modules is missing or older than
# package-lock.json: npm's node_modules/.package-lock.json) brings the npm packages, the peers included (onnxruntime-node, TensorFlow.js's
# WebGPU backend), and builds dist/.
#
# Checks first that Dawn finds a hardware adapter (it prints it, and what `vulkaninfo --summary`
# lists where that is installed) and refuses with one line when the only adapter is a CPU one
# (lavapipe / llvmpipe, SwiftShader) unless --allow-software is given.
#
# Runs `loupe bench --full`: the roofline, the conv kernels of SqueezeNet and the light AlexNet,
# VGG-19 and ResNet-50 graphs as shares of it, SqueezeNet against onnxruntime-node and
# TensorFlow.js WebGPU, the explainers, etalons, MaxOut, the issue-14 methods, and PDA at stride 1
# on SqueezeNet's and AlexNet's graphs. Extra arguments go to the bench (e.g. --batches 1,16,64,256).
# About 10 to 20 minutes on a discrete GPU, most of it the CPU peers (onnxruntime-node and PDA's
# CPU route); hours on a software adapter.
#
# Results: out/bench-<adapter>.json (the --json report) and out/bench-<adapter>.txt (the text form),
# <adapter> being Dawn's adapter description made file-name safe.
set -euo pipefail
cd "$(dirname "$0")/.."
allow_software=0
args=()
for a in "$@"; do
  if [ "$a" = --allow-software ]; then allow_software=1; else args+=("$a"); fi
done
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
DATA="${DATA:-../shared/data}"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # onnxruntime-node's CPU binary ships in its package; its post-install download is only for CUDA.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi
[ -f dist/cli/main.js ] || npm run build

if command -v vulkaninfo >/dev/null; then
  vulkaninfo --summary 2>/dev/null | grep -E '^\s*(deviceName|deviceType|driverName)' | sed 's/^\s*/vulkan: /' || true
fi

# The adapter Dawn gives a high-performance request: the one the bench (and TensorFlow.js) will use.
adapter=$(node --input-type=module -e "
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  const a = await create([]).requestAdapter({ powerPreference: 'high-performance' });
  if (!a) { console.log('none'); process.exit(0); }
  const i = a.info;
  console.log([i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(' ') || 'unknown adapter');
  process.exit(0);
" 2>/dev/null | tail -n 1)
echo "adapter: $adapter"
if [ "$adapter" = none ]; then
  echo "gpu-bench: Dawn finds no WebGPU adapter (is the vendor's Vulkan driver installed?)" >&2
  exit 1
fi
if echo "$adapter" | grep -qiE 'llvmpipe|lavapipe|swiftshader|software' && [ "$allow_software" = 0 ]; then
  echo "gpu-bench: the only adapter is a CPU one ($adapter): install the GPU's Vulkan driver, or pass --allow-software" >&2
  exit 1
fi

slug=$(echo "$adapter" | tr 'A-Z' 'a-z' | sed -E 's/[^a-z0-9]+/-/g; s/^-+|-+$//g' | cut -c1-60)
mkdir -p out
json="out/bench-$slug.json"
text="out/bench-$slug.txt"
echo "writing $json and $text"
./bin/loupe.js bench --full --data "$DATA" --report "$json" ${args[@]+"${args[@]}"} | tee "$text"
