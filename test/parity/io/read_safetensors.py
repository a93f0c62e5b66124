# Parses a safetensors file by hand (no safetensors package in Debian 12) and checks it against the format:
# u64 little-endian header length, a JSON object header, __metadata__ of strings, data_offsets that tile the data
# section exactly, 8-byte alignment of the data section. Prints JSON: {"metadata": {...}, "tensors": {name: {dtype,
# shape, hex}}, "order": [names by offset]} or exits non-zero naming the violation. Also checks the values TS wrote
# from known formulas (see the `expect` formulas below, mirrored in the TS test).
import json
import struct
import sys

import torch

DT = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16, 'I64': torch.int64,
      'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8, 'BOOL': torch.bool}

path = sys.argv[1]
data = open(path, 'rb').read()
(n,) = struct.unpack('<Q', data[:8])
header = json.loads(data[8:8 + n].decode('utf-8'))
assert isinstance(header, dict), 'header is not an object'
assert (8 + n) % 8 == 0, 'data section is not 8-byte aligned'
meta = header.pop('__metadata__', {})
assert all(isinstance(k, str) and isinstance(v, str) for k, v in meta.items()), 'metadata must map str to str'
body = data[8 + n:]
spans = sorted((e['data_offsets'][0], e['data_offsets'][1], name) for name, e in header.items())
end = 0
for b, e, name in spans:
    assert b == end, f'{name} starts at {b}, expected {end}'
    end = e
assert end == len(body), f'data section has {len(body)} bytes, offsets cover {end}'

tensors = {}
for name, e in header.items():
    b, end = e['data_offsets']
    dtype = DT[e['dtype']]
    chunk = bytearray(body[b:end])
    t = torch.frombuffer(chunk, dtype=dtype) if chunk else torch.empty(0, dtype=dtype)
    t = t.reshape(e['shape'])
    assert b % t.element_size() == 0, f'{name} is not aligned to its element size'
    tensors[name] = {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape),
                     'hex': t.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes().hex(), 'value': t}

# The TS test writes `k.<dtype>` = arange(6).reshape(2, 3) cast to the dtype, times -1 for signed kinds.
for name, info in tensors.items():
    if name.startswith('k.'):
        t = info['value']
        want = torch.arange(6, dtype=torch.float64).reshape(2, 3)
        if t.dtype not in (torch.uint8, torch.bool):
            want = -want
        want = want.to(t.dtype)
        assert torch.equal(t, want), f'{name} = {t} differs from {want}'
for info in tensors.values():
    del info['value']
print(json.dumps({'metadata': meta, 'tensors': tensors, 'order': [s[2] for s in spans]}))
