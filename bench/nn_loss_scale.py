# How much Deformable GAN's nearest-neighbour (NN) loss weight must change for our VGG19 input convention.
#
#   nice -n 10 /usr/bin/python3 bench/nn_loss_scale.py [--weights weights/vgg19-dcbb9e9d.pth] [--data DIR]
#
# (run from the repository root; no Makefile target). Prints one JSON object and nothing else.
#
# The official NN-loss weight 0.01 (pose-gan README: --l1_penalty_weight 0.01 --content_loss_layer block1_conv2
# --nn_loss_area_size 3 on Market, 5 on DeepFashion) was tuned on Keras's Caffe VGG19, whose input is BGR in 0..255
# minus the ImageNet mean (103.939, 116.779, 123.68 in BGR). Our VGG19 (src/models/layers/vgg.ts) is torchvision's,
# fed ImageNet-normalised RGB: (x/255 - mean) / std. This runs the same relu1_2 weights (torchvision's features.0 and
# features.2) under both conventions on real images and reports the ratio of mean |feature| and of NN-loss values,
# caffe / torchvision, per dataset, and the weight 0.01 x ratio that gives our convention the official loss scale.
#
# Images: DIR/{market,fashion}-userstudy/{gen,to}/*.jpg (DIR defaults to ../shared/data/user-study), read at run
# time and decoded by sharp (the project's decoder, as the training loader decodes them) through node. 'gen' holds
# Deformable GAN's outputs and 'to' real photos; they are not the same people, so each gen image is paired with the
# 'to' image of the same sorted position. The loss values are therefore larger than for a generator output against
# its own target, but both conventions see the same pairs, and the ratio is what this measures.
#
# NN loss, as pose-gan's conditional_gan.py nn_loss and Keras's loss reduction define it: the real image's features
# are padded with -10000 by n // 2 on each side; for each position of the generated image's features, the minimum
# over the n x n neighbourhood of the channel-summed |real - generated|; then the mean over batch and positions.
#
# Without the weights file the script says so on stderr and uses torchvision's own initialisation (kaiming_normal_,
# fan_out, relu; zero bias), reporting "weights": "random-kaiming". That figure is NOT the real one: with zero biases
# both convolutions and ReLUs are positively homogeneous, so the ratio is close to the input scale ratio (about
# 255 * std ~ 57.6) whatever the weights; the real biases of features.0 and features.2 break that.
import argparse
import base64
import json
import os
import statistics
import subprocess
import sys

import torch
import torch.nn.functional as F

# torchvision's ImageNet normalisation (RGB) and Caffe's mean (BGR, 0..255).
TV_MEAN = (0.485, 0.456, 0.406)
TV_STD = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
OFFICIAL_NN_WEIGHT = 0.01
DATASETS = {"market": 3, "fashion": 5}  # neighbourhood n of the official runs

# One node process decodes every image with sharp: {"paths": [...]} on stdin -> [{"h", "w", "rgb": base64}] on stdout.
DECODE_JS = r"""
const sharp = require('sharp');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', async () => {
  const out = [];
  for (const p of JSON.parse(input).paths) {
    const { data, info } = await sharp(p).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`${p}: decoded to ${info.channels} channels, expected 3`);
    out.push({ h: info.height, w: info.width, rgb: data.toString('base64') });
  }
  process.stdout.write(JSON.stringify(out));
});
"""


def decode(paths, repo):
    """(N,3,H,W) float32 RGB in 0..255; every image must have the first one's size."""
    r = subprocess.run(["node", "-e", DECODE_JS], input=json.dumps({"paths": paths}), capture_output=True, text=True, cwd=repo)
    if r.returncode != 0:
        sys.exit(f"nn_loss_scale: decoding images with sharp (node, run in {repo}) failed: {r.stderr.strip()}")
    images = []
    for p, d in zip(paths, json.loads(r.stdout)):
        flat = torch.frombuffer(bytearray(base64.b64decode(d["rgb"])), dtype=torch.uint8)
        images.append(flat.view(d["h"], d["w"], 3).permute(2, 0, 1).float())
        if images[-1].shape != images[0].shape:
            sys.exit(f"nn_loss_scale: {p} is {d['h']}x{d['w']}, but {paths[0]} is {images[0].shape[1]}x{images[0].shape[2]}")
    return torch.stack(images)


def load_relu1_2(path):
    """torchvision VGG19 features.0 (conv 3->64) and features.2 (conv 64->64): ({name: tensor}, label)."""
    shapes = {"features.0.weight": (64, 3, 3, 3), "features.0.bias": (64,),
              "features.2.weight": (64, 64, 3, 3), "features.2.bias": (64,)}
    if os.path.isfile(path):
        state = torch.load(path, map_location="cpu")
        missing = [k for k in shapes if k not in state]
        if missing:
            sys.exit(f"nn_loss_scale: {path} has no {', '.join(missing)}; expected torchvision's vgg19 state dict (vgg19-dcbb9e9d.pth)")
        for k, s in shapes.items():
            if tuple(state[k].shape) != s:
                sys.exit(f"nn_loss_scale: {path}: {k} has shape {tuple(state[k].shape)}, expected {s}")
        return {k: state[k].float() for k in shapes}, "torchvision vgg19 (" + os.path.basename(path) + ")"
    print(f"nn_loss_scale: no VGG19 weights at {path}; using torchvision's initialisation (kaiming_normal_ fan_out relu, "
          "zero bias): the ratio is then about the input scale ratio, not the real figure. Pass --weights PATH to "
          "torchvision's vgg19-dcbb9e9d.pth for that.", file=sys.stderr)
    torch.manual_seed(0)
    params = {}
    for k, s in shapes.items():
        t = torch.empty(s)
        if k.endswith("weight"):
            torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu")
        else:
            torch.nn.init.zeros_(t)
        params[k] = t
    return params, "random-kaiming"


def relu1_2(x, p, first_weight):
    h = F.relu(F.conv2d(x, first_weight, p["features.0.bias"], padding=1))
    return F.relu(F.conv2d(h, p["features.2.weight"], p["features.2.bias"], padding=1))


def conventions(p):
    """Each input convention: (N,3,H,W) RGB 0..255 -> relu1_2 features, all with the same weights."""
    per_channel = lambda v: torch.tensor(v).view(1, 3, 1, 1)
    # Caffe's BGR input goes to RGB-ordered weights through the first conv's input channels reversed.
    bgr_weight = p["features.0.weight"].flip(1)
    return {
        "torchvision": lambda rgb: relu1_2((rgb / 255 - per_channel(TV_MEAN)) / per_channel(TV_STD), p, p["features.0.weight"]),
        "caffe": lambda rgb: relu1_2(rgb.flip(1) - per_channel(CAFFE_MEAN_BGR), p, bgr_weight),
        # pose-gan's preprocess_for_vgg subtracts (103.939, 116.779, 123.68) from the RGB channels BEFORE turning
        # them into BGR, so R loses the blue mean and B the red one: a quirk of the official code, measured as is.
        "official_pose_gan": lambda rgb: relu1_2((rgb - per_channel(CAFFE_MEAN_BGR)).flip(1), p, bgr_weight),
    }


def nn_loss(generated, real, n):
    """Mean over (N,H,W) of min over the n x n neighbourhood in `real` of sum_c |real - generated|; both (N,C,H,W)."""
    r = n // 2
    _, _, h, w = generated.shape
    padded = F.pad(real, (r, r, r, r), mode="constant", value=-10000.0)
    best = None
    for dy in range(n):
        for dx in range(n):
            d = (padded[:, :, dy:dy + h, dx:dx + w] - generated).abs().sum(1)
            best = d if best is None else torch.minimum(best, d)
    return best.mean().item()


def measure(name, n, root, repo, convs):
    folder = os.path.join(root, f"{name}-userstudy")
    names = {}
    for side in ("gen", "to"):
        d = os.path.join(folder, side)
        if not os.path.isdir(d):
            sys.exit(f"nn_loss_scale: no folder {d}; give --data the folder holding {name}-userstudy/{{gen,to}}/")
        names[side] = sorted(f for f in os.listdir(d) if f.lower().endswith(".jpg"))
    count = min(len(names["gen"]), len(names["to"]))
    if count == 0:
        sys.exit(f"nn_loss_scale: no .jpg images in {folder}/gen or {folder}/to")
    gen = decode([os.path.join(folder, "gen", f) for f in names["gen"][:count]], repo)
    real = decode([os.path.join(folder, "to", f) for f in names["to"][:count]], repo)
    if gen.shape != real.shape:
        sys.exit(f"nn_loss_scale: {folder}: gen images are {tuple(gen.shape[2:])}, to images {tuple(real.shape[2:])}")
    abs_feature = {k: 0.0 for k in convs}
    losses = {k: [] for k in convs}
    with torch.no_grad():
        for i in range(count):  # one pair at a time: 256x256x64 features of 110 images would take ~2 GB
            for k, f in convs.items():
                fg, fr = f(gen[i:i + 1]), f(real[i:i + 1])
                abs_feature[k] += (fg.abs().mean().item() + fr.abs().mean().item()) / (2 * count)
                losses[k].append(nn_loss(fg, fr, n))
    loss = {k: statistics.fmean(v) for k, v in losses.items()}
    per_pair = [c / t for c, t in zip(losses["caffe"], losses["torchvision"])]
    ratio = loss["caffe"] / loss["torchvision"]
    return {
        "images": os.path.normpath(folder) + "/{gen,to}/*.jpg",
        "pairs": count,
        "frame": list(gen.shape[2:]),
        "neighbourhood": n,
        "mean_abs_feature": abs_feature,
        "feature_ratio_caffe_over_torchvision": abs_feature["caffe"] / abs_feature["torchvision"],
        "nn_loss": loss,
        "nn_loss_ratio_caffe_over_torchvision": ratio,
        "nn_loss_ratio_per_pair": {"min": min(per_pair), "median": statistics.median(per_pair), "max": max(per_pair)},
        "nn_loss_ratio_official_pose_gan_over_torchvision": loss["official_pose_gan"] / loss["torchvision"],
        "implied_nn_weight_torchvision": OFFICIAL_NN_WEIGHT * ratio,
    }


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description="NN-loss scale: Caffe VGG19 input convention vs torchvision's, at relu1_2")
    ap.add_argument("--weights", default="weights/vgg19-dcbb9e9d.pth", help="torchvision vgg19 state dict")
    ap.add_argument("--data", default=os.path.join(repo, "..", "shared", "data", "user-study"),
                    help="folder holding {market,fashion}-userstudy/{gen,to}/*.jpg")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("REPOSER_THREADS", "1")))
    params, weights = load_relu1_2(args.weights)
    convs = conventions(params)
    input_scale = statistics.fmean(255 * s for s in TV_STD)
    out = {
        "bench": "nn_loss_scale",
        "weights": weights,
        "weights_file": args.weights,
        "layer": "relu1_2 (torchvision features.3; Keras block1_conv2)",
        "official_nn_weight": OFFICIAL_NN_WEIGHT,
        "conventions": {
            "torchvision": "RGB, (x/255 - (0.485,0.456,0.406)) / (0.229,0.224,0.225): ours",
            "caffe": "BGR, x - (103.939,116.779,123.68), no std; first conv's input channels reversed",
            "official_pose_gan": "pose-gan's preprocess_for_vgg as written: RGB - (103.939,116.779,123.68), then BGR",
        },
        "input_scale_ratio": input_scale,
        "datasets": {name: measure(name, n, args.data, repo, convs) for name, n in DATASETS.items()},
        "note": ("ratios are caffe / torchvision; implied_nn_weight_torchvision = 0.01 x nn_loss ratio gives our "
                 "convention the official loss scale. "
                 + ("RANDOM WEIGHTS (torchvision's kaiming init, zero biases): convolutions and ReLUs without bias are "
                    "positively homogeneous, so the ratio is nearly the input scale ratio (255 x std, ~57.6) and says "
                    "nothing about the real weights; rerun with --weights pointing at vgg19-dcbb9e9d.pth."
                    if weights == "random-kaiming" else
                    "Real torchvision VGG19 weights; their biases make the ratio differ from the input scale ratio.")),
    }
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
