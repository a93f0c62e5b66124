# The numerical oracle: Debian's python3-torch, the same libtorch the addon links.
# Reads one JSON request on stdin: {"cases": [{"code": str, "inputs": {name: tensor}}]}, where a tensor is
# {"dtype": str, "shape": [..], "data": base64 of little-endian bytes}. Each case's code runs with torch, F, nn
# and `inputs` (a dict of torch tensors; float tensors get requires_grad if the case says "grad": [names])
# and assigns `out`, a dict of tensors or numbers. Writes {"results": [{name: tensor|number}] | {"error": str}}.
import base64, json, sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NP = {"float32": np.float32, "float64": np.float64, "int64": np.int64, "int32": np.int32, "int16": np.int16,
      "int8": np.int8, "uint8": np.uint8, "bool": np.bool_, "float16": np.float16}


def decode(t):
    arr = np.frombuffer(base64.b64decode(t["data"]), dtype=NP[t["dtype"]]).reshape(t["shape"])
    return torch.from_numpy(arr.copy())


def encode(v):
    if isinstance(v, torch.Tensor):
        v = v.detach().contiguous()
        name = {torch.float32: "float32", torch.float64: "float64", torch.int64: "int64", torch.int32: "int32",
                torch.int16: "int16", torch.int8: "int8", torch.uint8: "uint8", torch.bool: "bool",
                torch.float16: "float16"}[v.dtype]
        return {"dtype": name, "shape": list(v.shape), "data": base64.b64encode(v.numpy().tobytes()).decode()}
    if isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, (list, tuple)):
        return [encode(x) for x in v]
    raise TypeError(f"cannot encode {type(v)}")


def main():
    torch.set_num_threads(1)
    req = json.load(sys.stdin)
    results = []
    for case in req["cases"]:
        try:
            inputs = {k: decode(v) for k, v in case.get("inputs", {}).items()}
            for k in case.get("grad", []):
                inputs[k].requires_grad_(True)
            scope = {"torch": torch, "F": F, "nn": nn, "np": np, "inputs": inputs, "out": None}
            exec(case["code"], scope)
            results.append({k: encode(v) for k, v in scope["out"].items()})
        except Exception as e:  # reported per case so one bad case does not hide the rest
            results.append({"error": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout)


main()
