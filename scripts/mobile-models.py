#!/usr/bin/python3
"""Small but real torchvision models of the mobile families, exported to ONNX the way users do.

Usage: /usr/bin/python3 scripts/mobile-models.py OUT_DIR [--seed 1]

Needs Debian's python3-torch (1.13) and python3-torchvision (0.14) (and python3-numpy). Weights
cannot be downloaded, so every model gets random weights from a fixed seed:

  - torchvision's own initialisation, then random BatchNorm weights and biases and statistics
    measured layer by layer on random images and perturbed at random (randomise_batchnorm), so
    that activations stay in a realistic range through ~50 layers. The statistics are non-trivial (torch's default export folds them into the Conv weights and biases; with the
    identity statistics of a fresh model that fold would be a no-op and torch would even
    deduplicate the zero biases into Identity nodes).
  - eval mode, 10 classes, input 3x64x64, exported with a symbolic batch dimension ("N") at
    opset 14 (where torch exports nn.Hardswish as the HardSwish op) and MobileNet v3 also at
    opset 13 (where torch decomposes it into x * HardSigmoid(x)); one extra MobileNet v2 is
    exported with training=PRESERVE, which keeps its BatchNormalization nodes in the file.

For each model NAME, OUT_DIR gets NAME.onnx, NAME.input.npy (a fixed float32 batch of 2 images,
N x 3 x 64 x 64) and NAME.output.npy (torch's float32 logits for that batch, N x 10); and
OUT_DIR/manifest.json lists them. Deterministic for a given seed (one CPU thread).
"""

import argparse
import json
import os
import sys

try:
    import numpy as np
    import torch
    import torchvision
    import torchvision.models as tvm
except ImportError as e:  # pragma: no cover - the spec helper reports this
    sys.exit(f"mobile-models.py: {e}; install Debian's python3-torch python3-torchvision python3-numpy")

CLASSES = 10
SIZE = 64
BATCH = 2

# name, constructor, opset, export mode
MODELS = [
    ("mobilenet_v2_x0_5", lambda: tvm.mobilenet_v2(width_mult=0.5, num_classes=CLASSES), 14, "eval"),
    ("mobilenet_v2_x0_5_bn", lambda: tvm.mobilenet_v2(width_mult=0.5, num_classes=CLASSES), 14, "preserve"),
    ("mobilenet_v3_small", lambda: tvm.mobilenet_v3_small(num_classes=CLASSES), 14, "eval"),
    ("mobilenet_v3_small_opset13", lambda: tvm.mobilenet_v3_small(num_classes=CLASSES), 13, "eval"),
    ("shufflenet_v2_x0_5", lambda: tvm.shufflenet_v2_x0_5(num_classes=CLASSES), 14, "eval"),
    ("efficientnet_b0", lambda: tvm.efficientnet_b0(num_classes=CLASSES), 14, "eval"),
    ("mnasnet0_5", lambda: tvm.mnasnet0_5(num_classes=CLASSES), 14, "eval"),
]


def images(gen, n):
    """Image-like inputs: smooth random fields (8x8 noise upsampled) plus fine noise, about unit variance."""
    coarse = torch.randn(n, 3, 8, 8, generator=gen)
    smooth = torch.nn.functional.interpolate(coarse, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
    return smooth + 0.3 * torch.randn(n, 3, SIZE, SIZE, generator=gen)


class _Stop(Exception):
    pass


def randomise_batchnorm(model, gen):
    """Random BatchNorm parameters and statistics that keep activations in a realistic range.

    The squeeze-and-excitation blocks' biases (zero in torchvision) are drawn first (fc1 uniform
    in [-0.5, 0.5], fc2 in [-3, 3], so that some gates saturate). Then, in forward order, each BN
    gets a random weight (|w| log-uniform in [0.5, 3], one in ten negative) and bias (uniform in
    [-0.5, 0.5]); its input is measured on a calibration batch with every earlier BN already final
    (eval mode), and its running_mean is set to the measured channel mean plus 0.2 std of noise,
    its running_var to the measured variance (floored at a tenth of the layer's median) times a
    factor uniform in [0.7, 1.4]. Measuring after the earlier layers are final keeps the random
    perturbations from compounding through ~50 layers.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    for se in [m for m in model.modules() if isinstance(m, torchvision.ops.SqueezeExcitation)]:
        with torch.no_grad():  # torchvision zeroes these biases; trained gates saturate
            se.fc1.bias.uniform_(-0.5, 0.5, generator=gen)
            se.fc2.bias.uniform_(-3.0, 3.0, generator=gen)
    model.eval()
    calib = images(gen, 16)
    order = []
    hooks = [bn.register_forward_pre_hook(lambda m, inp: order.append(m)) for bn in bns]
    with torch.no_grad():
        model(calib)
    for h in hooks:
        h.remove()
    assert sorted(map(id, order)) == sorted(map(id, bns)), "every BatchNorm runs exactly once"
    for bn in order:
        c = bn.num_features
        u = lambda lo, hi: lo + (hi - lo) * torch.rand(c, generator=gen)
        seen = {}

        def grab(m, inp):
            seen["x"] = inp[0]
            raise _Stop()

        h = bn.register_forward_pre_hook(grab)
        try:
            with torch.no_grad():
                model(calib)
        except _Stop:
            pass
        finally:
            h.remove()
        x = seen["x"]
        mean = x.mean(dim=(0, 2, 3))
        var = x.var(dim=(0, 2, 3), unbiased=False)
        var = torch.maximum(var, 0.1 * var.median())  # a channel nearly constant on the calibration batch would get a huge gain
        with torch.no_grad():
            bn.running_mean.copy_(mean + 0.2 * var.sqrt() * torch.randn(c, generator=gen))
            bn.running_var.copy_(var * u(0.7, 1.4) + 1e-3)
            sign = torch.where(torch.rand(c, generator=gen) < 0.1, -1.0, 1.0)
            bn.weight.copy_(sign * torch.exp(u(np.log(0.5), np.log(3.0))))
            bn.bias.copy_(u(-0.5, 0.5))


def build(name, make, seed):
    torch.manual_seed(seed)
    model = make()
    gen = torch.Generator().manual_seed(seed + 1)
    randomise_batchnorm(model, gen)
    x = images(torch.Generator().manual_seed(seed + 2), BATCH)
    with torch.no_grad():
        y = model(x)
    return model, x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output folder (created)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    os.makedirs(args.out, exist_ok=True)
    manifest = {"torch": torch.__version__, "torchvision": torchvision.__version__, "seed": args.seed, "models": []}
    for k, (name, make, opset, mode) in enumerate(MODELS):
        model, x, y = build(name, make, args.seed * 1000 + k * 10)
        onnx_path = os.path.join(args.out, f"{name}.onnx")
        training = torch.onnx.TrainingMode.PRESERVE if mode == "preserve" else torch.onnx.TrainingMode.EVAL
        torch.onnx.export(
            model, x, onnx_path, opset_version=opset, training=training, do_constant_folding=True,
            input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
        )
        np.save(os.path.join(args.out, f"{name}.input.npy"), x.numpy().astype(np.float32))
        np.save(os.path.join(args.out, f"{name}.output.npy"), y.numpy().astype(np.float32))
        entry = {
            "name": name, "onnx": f"{name}.onnx", "input": f"{name}.input.npy", "output": f"{name}.output.npy",
            "opset": opset, "batchnorm": "kept" if mode == "preserve" else "folded by torch",
            "inputShape": list(x.shape), "outputShape": list(y.shape),
        }
        manifest["models"].append(entry)
        print(f"wrote {onnx_path} ({os.path.getsize(onnx_path)} bytes, opset {opset}, BN {entry['batchnorm']}), "
              f"{name}.input.npy {list(x.shape)}, {name}.output.npy {list(y.shape)} max|logit| {y.abs().max().item():.4g}")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    print(f"wrote {os.path.join(args.out, 'manifest.json')} ({len(manifest['models'])} models)")


if __name__ == "__main__":
    main()
