# Writes the weights-I/O fixtures with Debian's python3-torch into the folder given as argv[1], at test time:
#   model.pth     torch.save(state_dict) of a small conv net (Conv2d, BatchNorm2d with num_batches_tracked, Linear)
#   mixed.pth     {'state_dict': ..., 'epoch': 3, ...}: every storage dtype, views sharing one storage (transpose,
#                 slice with offset, row), a one-entry OrderedDict, plain Python values, a 0-d and an empty tensor
#   deflated.pth  model.pth re-zipped with deflate
#   gan.pth       {'netG': sd, 'netD': sd, 'epoch': 1}: no conventional wrapper key
#   p4.pth        model.pth's state dict saved with pickle_protocol=4 (FRAME, STACK_GLOBAL, MEMOIZE)
#   bigendian.pth a checkpoint rewritten as a big-endian machine would save it (byteorder 'big', swapped storages)
#   legacy.pth    torch.save(..., _use_new_zipfile_serialization=False)
#   evil.pth      a checkpoint whose pickle calls os.system (would create argv[1]/pwned if unpickled by Python)
#   py.safetensors  a safetensors file written by hand (struct + json), every dtype, with metadata
#   expected.json   every tensor of the .pth/.safetensors files as dtype, shape and hex bytes (contiguous, little-endian)
import collections
import json
import os
import struct
import sys
import zipfile

import torch

out = sys.argv[1]
torch.manual_seed(0)


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 4, 3, stride=2)
        self.fc = torch.nn.Linear(4, 2)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.conv2(x).mean((2, 3))
        return self.fc(x)


net = Net()
net.train()
net(torch.randn(2, 3, 8, 8))  # running stats move and num_batches_tracked becomes 1
sd = net.state_dict()
torch.save(sd, os.path.join(out, 'model.pth'))

w = torch.randn(4, 6)
mixed = {
    'state_dict': sd,
    'epoch': 3,
    'f64': torch.randn(3, 2, dtype=torch.float64),
    'f16': torch.randn(5).half(),
    'bf16': torch.randn(4).bfloat16(),
    'i64': torch.tensor([2 ** 53 + 1, -7, 0]),
    'i32': torch.tensor([[1, -2], [3, 2 ** 31 - 1]], dtype=torch.int32),
    'i16': torch.tensor([-32768, 5], dtype=torch.int16),
    'i8': torch.tensor([-128, 127], dtype=torch.int8),
    'u8': torch.tensor([0, 255], dtype=torch.uint8),
    'bool': torch.tensor([True, False, True]),
    'w': w,
    'wt': w.t(),
    'slice': w[1:, 2:5],
    'row': w[2],
    'half_t': torch.randn(3, 4).half().t(),
    'one': collections.OrderedDict([('only', torch.arange(3.0))]),
    'meta': {'lr': 0.5, 'name': 'run1', 'steps': [1, 2], 'big': 2 ** 60, 'neg': -2 ** 40, 'none': None,
             'flag': True, 'tup': (1, 'a'), 'raw': b'\x00\xffab', 'intkey': {0: 'zero'}},
    'scalar': torch.tensor(2.5),
    'empty': torch.zeros(0, 3),
}
torch.save(mixed, os.path.join(out, 'mixed.pth'))

with zipfile.ZipFile(os.path.join(out, 'model.pth')) as src, \
        zipfile.ZipFile(os.path.join(out, 'deflated.pth'), 'w', zipfile.ZIP_DEFLATED) as dst:
    for info in src.infolist():
        dst.writestr(info.filename, src.read(info.filename))

torch.save({'netG': sd, 'netD': collections.OrderedDict([('w', torch.ones(2))]), 'epoch': 1},
           os.path.join(out, 'gan.pth'))
torch.save(sd, os.path.join(out, 'legacy.pth'), _use_new_zipfile_serialization=False)
torch.save(sd, os.path.join(out, 'p4.pth'), pickle_protocol=4)

# One tensor per storage, so storage keys '0', '1', ... follow the dict's order and each key's dtype is known.
be = collections.OrderedDict([('f32', torch.randn(3, 4)), ('f64', torch.randn(2, dtype=torch.float64)),
                              ('f16', torch.randn(3).half()), ('i64', torch.tensor([1, -2, 2 ** 40])),
                              ('i16', torch.tensor([258, -3], dtype=torch.int16))])
torch.save(be, os.path.join(out, 'le.pth'))
with zipfile.ZipFile(os.path.join(out, 'le.pth')) as src, \
        zipfile.ZipFile(os.path.join(out, 'bigendian.pth'), 'w') as dst:
    root = src.namelist()[0].split('/')[0]
    for info in src.infolist():
        data = src.read(info.filename)
        parts = info.filename.split('/')
        if len(parts) == 3 and parts[1] == 'data':
            t = list(be.values())[int(parts[2])]
            data = t.contiguous().numpy().byteswap().tobytes()
        if not info.filename.endswith('/byteorder'):
            dst.writestr(info.filename, data)
    dst.writestr(root + '/byteorder', 'big')
os.remove(os.path.join(out, 'le.pth'))


class Evil:
    def __reduce__(self):
        return (os.system, ('touch ' + os.path.join(out, 'pwned'),))


torch.save({'x': torch.ones(1), 'evil': Evil()}, os.path.join(out, 'evil.pth'))


def raw(t):
    return t.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def describe(t):
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'hex': raw(t).hex()}


expected = {}


def dump(prefix, v):
    if isinstance(v, torch.Tensor):
        expected[prefix] = describe(v)
    elif isinstance(v, dict):
        for k, x in v.items():
            dump(prefix + '.' + str(k) if prefix else str(k), x)


dump('model', sd)
dump('mixed', mixed)
dump('be', be)

# safetensors by hand: header JSON with data_offsets, padded to 8 bytes, then the bytes in order.
CODES = {torch.float32: 'F32', torch.float64: 'F64', torch.float16: 'F16', torch.bfloat16: 'BF16', torch.int64: 'I64',
         torch.int32: 'I32', torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
st = collections.OrderedDict([
    ('a.f32', torch.randn(2, 3)), ('a.f64', torch.randn(3, dtype=torch.float64)), ('a.f16', torch.randn(4).half()),
    ('a.bf16', torch.randn(2, 2).bfloat16()), ('a.i64', torch.tensor([-(2 ** 62), 1])),
    ('a.i32', torch.tensor([7], dtype=torch.int32)), ('a.i16', torch.tensor([-3], dtype=torch.int16)),
    ('a.i8', torch.tensor([[-1, 2]], dtype=torch.int8)), ('a.u8', torch.tensor([200], dtype=torch.uint8)),
    ('a.bool', torch.tensor([[True], [False]])), ('a.scalar', torch.tensor(1.5)),
])
header = {'__metadata__': {'format': 'pt', 'note': 'written by hand'}}
blobs = []
offset = 0
for name, t in st.items():
    b = raw(t)
    header[name] = {'dtype': CODES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(b)]}
    blobs.append(b)
    offset += len(b)
    expected['st.' + name] = describe(t)
text = json.dumps(header).encode()
text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
with open(os.path.join(out, 'py.safetensors'), 'wb') as f:
    f.write(struct.pack('<Q', len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)

with open(os.path.join(out, 'expected.json'), 'w') as f:
    json.dump(expected, f)
