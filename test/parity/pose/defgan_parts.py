# Deformable GAN's body-part geometry as the released code computes it (AliaksandrSiarohin/pose-gan, final
# pose_transform.py: affine_transforms, pose_masks, estimate_polygon; masks brought to smaller feature maps by the
# Keras layer's tf.image.resize_images NEAREST_NEIGHBOR), restated in numpy as the oracle for defgan-parts.test.ts.
# scikit-image is not installed, so the two skimage pieces the released code leans on are restated from their
# definitions in the skimage versions of its time (0.13/0.14, python 2):
#   - estimate_transform('affine', src, dst): each point set centred and scaled to an rms distance of sqrt(2), the
#     homogeneous system solved by SVD (total least squares), then de-normalised;
#   - measure.grid_points_in_poly(shape, verts): for every grid point (row, col) a crossing-number test, an edge
#     counting when it spans the column half-open and crosses it below the point (skimage < 0.18).
# Joint order is the data's (OpenPose COCO-18); the released label names for 14-17 do not matter here, as the head
# keypoints are only ever used as a set.
#
# stdin: {"frame": [H, W], "sizes": [[h, w], ...], "pairs": [[source (18 [y, x]), target (18 [y, x])], ...]}
# stdout: {"affines": (P,10,3,3) float64 target -> source pixel (x, y) maps, the released 1000-pixel shift where
#          empty, "masks": (P,10,H,W) uint8, "resized": [(P,10,h,w) uint8 for each size]} as oracle wire tensors.
import base64
import json
import math
import sys

import numpy as np

NOSE, R_SHO, R_ELB, R_WRI, L_SHO, L_ELB, L_WRI = 0, 2, 3, 4, 5, 6, 7
R_HIP, R_KNE, R_ANK, L_HIP, L_KNE, L_ANK = 8, 9, 10, 11, 12, 13
HEAD = [NOSE, 14, 15, 16, 17]
TORSO = [R_HIP, L_HIP, L_SHO, R_SHO]
# (first joint, second joint, reach past the second joint in the affine's rectangle, in the mask's rectangle)
LIMBS = [(R_HIP, R_KNE, 0.1, 0.1), (L_HIP, L_KNE, 0.1, 0.1), (R_KNE, R_ANK, 0.3, 0.5), (L_KNE, L_ANK, 0.3, 0.5),
         (R_SHO, R_ELB, 0.1, 0.1), (L_SHO, L_ELB, 0.1, 0.1), (R_ELB, R_WRI, 0.3, 0.5), (L_ELB, L_WRI, 0.3, 0.5)]
OTHER_SIDE = {R_SHO: L_SHO, R_ELB: L_ELB, R_WRI: L_WRI, R_HIP: L_HIP, R_KNE: L_KNE, R_ANK: L_ANK}
OTHER_SIDE.update({v: k for k, v in list(OTHER_SIDE.items())})
EMPTY = np.array([[1.0, 0, 1000], [0, 1, 1000], [0, 0, 1]])


def present_joints(yx):
    """{joint: np.array([x, y])} (integers, as the released code loads the CSV) for the joints not marked -1."""
    return {j: np.array([int(p[1]), int(p[0])]) for j, p in enumerate(yx) if p[0] != -1 and p[1] != -1}


def torso_size(kp):
    first = np.sum((kp[R_HIP] - kp[R_SHO]) ** 2)
    second = np.sum((kp[L_HIP] - kp[L_SHO]) ** 2)
    return np.sqrt((first + second) / 2.0)


def rectangle(start, end, st, reach_end, reach_start=0.1, half_start=0.2, half_end=0.2):
    """The released estimate_polygon, same operations in the same order."""
    start = start + (start - end) * reach_start
    end = end + (end - start) * reach_end
    along = start - end
    side = np.array([-along[1], along[0]])
    length = np.linalg.norm(side)
    if length == 0:
        return np.array([start + 1, start - 1, end - 1, end + 1])
    side = side / length
    return np.array([start + st * half_start * side, start - st * half_start * side,
                     end - st * half_end * side, end + st * half_end * side])


def normalising_matrix(points):
    centre = np.mean(points, axis=0)
    rms = math.sqrt(np.sum((points - centre) ** 2) / points.shape[0])
    k = math.sqrt(2) / rms  # ZeroDivisionError for coincident points, as in skimage
    matrix = np.array([[k, 0, -k * centre[0]], [0, k, -k * centre[1]], [0, 0, 1]])
    moved = matrix @ np.vstack([points.T, np.ones(points.shape[0])])
    return matrix, (moved[:2] / moved[2]).T


def affine_tls(src, dst):
    """skimage's AffineTransform.estimate(src, dst).params of its 2018 versions (NaN when it fails)."""
    src = np.asarray(src, dtype=float)
    dst = np.asarray(dst, dtype=float)
    try:
        ms, s = normalising_matrix(src)
        md, d = normalising_matrix(dst)
    except ZeroDivisionError:
        return np.full((3, 3), np.nan)
    count = len(s)
    system = np.zeros((2 * count, 7))
    system[:count, 0], system[:count, 1], system[:count, 2] = s[:, 0], s[:, 1], 1
    system[count:, 3], system[count:, 4], system[count:, 5] = s[:, 0], s[:, 1], 1
    system[:count, 6], system[count:, 6] = d[:, 0], d[:, 1]
    _, _, vt = np.linalg.svd(system)
    h = np.eye(3)
    h[0] = -vt[-1, 0:3] / vt[-1, 6]
    h[1] = -vt[-1, 3:6] / vt[-1, 6]
    return np.linalg.inv(md) @ h @ ms


def checked(tr):
    """The released to_transforms: keep what numpy can invert."""
    try:
        np.linalg.inv(tr)
        return tr
    except np.linalg.LinAlgError:
        return EMPTY


def part_affines(source_yx, target_yx):
    k1, k2 = present_joints(source_yx), present_joints(target_yx)
    st1, st2 = torso_size(k1), torso_size(k2)
    out = [checked(affine_tls([k2[j] for j in TORSO], [k1[j] for j in TORSO]))]
    shared = [j for j in HEAD if j in k1 and j in k2]
    if shared:
        joints = shared + [L_SHO, R_SHO]
        out.append(checked(affine_tls([k2[j] for j in joints], [k1[j] for j in joints])))
    else:
        out.append(EMPTY)
    for first, second, reach, _ in LIMBS:
        if first not in k2 or second not in k2:
            out.append(EMPTY)
            continue
        target_rect = rectangle(k2[first], k2[second], st2, reach)
        if first not in k1 or second not in k1:
            first, second = OTHER_SIDE[first], OTHER_SIDE[second]
            if first not in k1 or second not in k1:
                out.append(EMPTY)
                continue
        out.append(checked(affine_tls(target_rect, rectangle(k1[first], k1[second], st1, reach))))
    return np.array(out)


def grid_points_in_polygon(shape, vertices_rc):
    """skimage < 0.18 grid_points_in_poly: the Cython per-point loop, run for all grid points at once."""
    rows = np.arange(shape[0], dtype=float)[:, None]
    cols = np.arange(shape[1], dtype=float)[None, :]
    vr = vertices_rc[:, 0].astype(float)
    vc = vertices_rc[:, 1].astype(float)
    inside = np.zeros(shape, dtype=bool)
    j = len(vr) - 1
    for i in range(len(vr)):
        spans = ((vc[i] <= cols) & (cols < vc[j])) | ((vc[j] <= cols) & (cols < vc[i]))
        with np.errstate(divide='ignore', invalid='ignore'):
            crossing_row = (vr[j] - vr[i]) * (cols - vc[i]) / (vc[j] - vc[i]) + vr[i]
        inside ^= spans & (rows < crossing_row)
        j = i
    return inside


def part_masks(target_yx, shape):
    k2 = present_joints(target_yx)
    st2 = torso_size(k2)
    masks = np.zeros((10,) + tuple(shape), dtype=bool)
    masks[0] = True
    heads = [k2[j] for j in HEAD if j in k2]
    if heads:
        centre = np.mean(np.array(heads), axis=0, keepdims=True).astype(int)
        lo = np.maximum(np.min(centre, axis=0) - int(0.4 * st2), 0)
        hi = np.minimum(np.max(centre, axis=0) + int(0.4 * st2), shape[::-1])
        masks[1, lo[1]:hi[1], lo[0]:hi[0]] = True
    for k, (first, second, _, reach) in enumerate(LIMBS):
        if first in k2 and second in k2:
            masks[2 + k] = grid_points_in_polygon(shape, rectangle(k2[first], k2[second], st2, reach)[:, ::-1])
    return masks


def resize_nearest_tf1(masks, size):
    """tf.image.resize_images(NEAREST_NEIGHBOR) of TensorFlow 1: source index min(floor(i * (in / out)), in - 1),
    scale and product in float32."""
    def index(n_in, n_out):
        scale = np.float32(n_in) / np.float32(n_out)
        return np.minimum(np.floor(np.arange(n_out, dtype=np.float32) * scale).astype(int), n_in - 1)
    return masks[..., index(masks.shape[-2], size[0]), :][..., index(masks.shape[-1], size[1])]


def wire(a):
    a = np.ascontiguousarray(a)
    return {"dtype": str(a.dtype), "shape": list(a.shape), "data": base64.b64encode(a.tobytes()).decode()}


def main():
    req = json.load(sys.stdin)
    shape = tuple(req["frame"])
    affines = np.array([part_affines(s, t) for s, t in req["pairs"]])
    masks = np.array([part_masks(t, shape) for _, t in req["pairs"]])
    json.dump({"affines": wire(affines.astype(np.float64)), "masks": wire(masks.astype(np.uint8)),
               "resized": [wire(resize_nearest_tf1(masks, size).astype(np.uint8)) for size in req["sizes"]]},
              sys.stdout)


if __name__ == "__main__":
    main()
