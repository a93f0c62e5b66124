# Writes the weights-I/O fixtures with Debian's python3-torch into the folder given as argv[1], at test time:
#   model.pth     torch.save(state_dict) of a small conv net (Conv2d, BatchNorm2d with num_batches_tracked, Linear)
#   mixed.pth     {'state_dict': ..., 'epoch': 3, ...}: every storage dtype, views sharing one storage (transpose,
#                 slice with offset, row), a one-entry OrderedDict, plain Python values, a 0-d and an empty tensor
#   deflated.pth  model.pth re-zipped with deflate
#   gan.pth       {'netG': sd, 'netD': sd, 'epoch': 1}: no conventional wrapper key
#   p4.pth        model.pth's state dict saved with pickle_protocol=4 (FRAME, STACK_GLOBAL, MEMOIZE)
#   bigendian.pth a checkpoint rewritten as a big-endian machine would save it (byteorder 'big', swapped storages)
#   legacy.pth    model.pth's state dict in the legacy format (torch.save(..., _use_new_zipfile_serialization=False))
#   legacy_mixed.pth  mixed.pth's value in the legacy format
#   views.pth, legacy_views.pth  tensors that share storages (t, t[1:], t.t(), a column, two rows of a storage whose
#                 base is not saved) and a nested dict, in both formats
#   legacy_storage_views.pth  a legacy file written by hand as PyTorch before 0.4 wrote storage views (view_metadata
#                 in the persistent id, _rebuild_tensor v1 and v2), in an OrderedDict pickled as Python 2 did (items as
#                 lists); its expected values are what torch.load makes of it
#   legacy_badview.pth, legacy_badroot.pth  the same with a tensor that reaches past its view, and with a view that
#                 reaches past its storage
#   legacy_big_pickle.pth  a legacy file whose pickled object (a 3 MB string between two tensors) outgrows the loader's
#                 first 1 MiB read
#   plain.pkl     pickle.dump of a dict: a pickle, but not torch.save's
#   evil.pth      a checkpoint whose pickle calls os.system (would create argv[1]/pwned if unpickled by Python)
#   py.safetensors  a safetensors file written by hand (struct + json), every dtype, with metadata
#   expected.json   every tensor of the .pth/.safetensors files as dtype, shape and hex bytes (contiguous, little-endian)
import collections
import json
import os
import pickle
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
torch.save(mixed, os.path.join(out, 'legacy_mixed.pth'), _use_new_zipfile_serialization=False)

t = torch.randn(4, 5)
rows = torch.randn(2, 3, dtype=torch.float64)
views = {'t': t, 'tail': t[1:], 'tt': t.t(), 'col': t[:, 2], 'first': rows[0], 'second': rows[1],
         'deep': {'inner': collections.OrderedDict([('x', torch.arange(6).reshape(2, 3)[:, 1:]), ('n', 7)])}}
torch.save(views, os.path.join(out, 'views.pth'))
torch.save(views, os.path.join(out, 'legacy_views.pth'), _use_new_zipfile_serialization=False)


class OldStorage:
    """A root storage, or a view (view_key, offset, numel) of one, as PyTorch before 0.4 pickled them."""

    def __init__(self, key, root, view=None):
        self.key, self.root, self.view = key, root, view


class OldTensor:
    def __init__(self, rebuild, storage, offset, size, stride):
        self.rebuild, self.storage, self.offset, self.size, self.stride = rebuild, storage, offset, size, stride

    def __reduce__(self):
        args = (self.storage, self.offset, self.size, self.stride)
        if self.rebuild is torch._utils._rebuild_tensor_v2:
            args += (False, collections.OrderedDict())
        return (self.rebuild, args)


def save_legacy_by_hand(obj, roots, path):
    types = {torch.float32: torch.FloatStorage, torch.float64: torch.DoubleStorage}

    class Pickler(pickle.Pickler):
        def persistent_id(self, o):
            if isinstance(o, OldStorage):
                return ('storage', types[o.root.dtype], o.key, 'cpu', o.root.numel(), o.view)
            return None

    with open(path, 'wb') as f:
        sys_info = {'protocol_version': 1001, 'little_endian': True, 'type_sizes': {'short': 2, 'int': 4, 'long': 4}}
        for v in (0x1950a86a20f9469cfc6c, 1001, sys_info):
            pickle.dump(v, f, protocol=2)
        Pickler(f, protocol=2).dump(obj)
        keys = sorted(roots)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            f.write(struct.pack('<q', roots[k].numel()))
            f.write(roots[k].numpy().tobytes())


# Keys sort the other way round from first use, so storages are read in the key list's order, not the pickle's.
a, b = torch.randn(10), torch.randn(6, dtype=torch.float64)
roots = {'k2': a, 'k1': b}
whole_a, whole_b = OldStorage('k2', a), OldStorage('k1', b)
v1, v2, bv = OldStorage('k2', a, ('v1', 2, 6)), OldStorage('k2', a, ('v2', 5, 5)), OldStorage('k1', b, ('bv', 3, 3))
v1_rebuild, v2_rebuild = torch._utils._rebuild_tensor, torch._utils._rebuild_tensor_v2


class Py2OrderedDict:
    """Pickles as Python 2's OrderedDict did: OrderedDict([[key, value], ...]), items as lists."""

    def __init__(self, items):
        self.items = items

    def __reduce__(self):
        return (collections.OrderedDict, ([[k, v] for k, v in self.items],))


storage_views = Py2OrderedDict([
    ('x', OldTensor(v1_rebuild, v1, 1, (2, 2), (2, 1))),
    ('y', OldTensor(v1_rebuild, v2, 0, (5,), (1,))),
    ('whole', OldTensor(v2_rebuild, whole_a, 0, (2, 5), (5, 1))),
    ('xt', OldTensor(v2_rebuild, v1, 0, (3, 2), (1, 3))),
    ('d', OldTensor(v2_rebuild, whole_b, 0, (3, 2), (2, 1))),
    ('dview', OldTensor(v1_rebuild, bv, 1, (2,), (1,))),
])
save_legacy_by_hand(storage_views, roots, os.path.join(out, 'legacy_storage_views.pth'))
loaded_storage_views = torch.load(os.path.join(out, 'legacy_storage_views.pth'))
# A tensor that reaches past its view (torch.load refuses it too), and a view that reaches past its storage.
save_legacy_by_hand({'bad': OldTensor(v1_rebuild, OldStorage('k2', a, ('vb', 2, 3)), 0, (5,), (1,))}, {'k2': a},
                    os.path.join(out, 'legacy_badview.pth'))
save_legacy_by_hand({'bad': OldTensor(v1_rebuild, OldStorage('k2', a, ('vb', 8, 5)), 0, (1,), (1,))}, {'k2': a},
                    os.path.join(out, 'legacy_badroot.pth'))
big_pickle = {'w': torch.randn(3), 'note': 'x' * 3_000_000, 'v': torch.arange(5)}
torch.save(big_pickle, os.path.join(out, 'legacy_big_pickle.pth'), _use_new_zipfile_serialization=False)
with open(os.path.join(out, 'plain.pkl'), 'wb') as f:
    pickle.dump({'a': 1}, f, protocol=2)
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
dump('views', views)
dump('sview', loaded_storage_views)
dump('bigpickle', big_pickle)

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
