# Reference metric networks in plain PyTorch, restated from torchvision's inception_v3 / alexnet, pytorch-fid's
# FIDInceptionV3 and the lpips package (none of which is installed here), for metrics.test.ts. The module names
# match the official state dicts, so `write_random_weights` writes files in the official layouts.
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


def avg3(x, fid):
    return F.avg_pool2d(x, 3, 1, 1, count_include_pad=not fid)


class A(nn.Module):
    def __init__(self, cin, pool, fid):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool, kernel_size=1)

    def forward(self, x):
        return torch.cat([self.branch1x1(x), self.branch5x5_2(self.branch5x5_1(x)),
                          self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          self.branch_pool(avg3(x, self.fid))], 1)


class B(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        return torch.cat([self.branch3x3(x), self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x))),
                          F.max_pool2d(x, 3, 2)], 1)


class C(nn.Module):
    def __init__(self, cin, c7, fid):
        super().__init__()
        self.fid = fid
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        s = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        d = x
        for k in range(1, 6):
            d = getattr(self, f'branch7x7dbl_{k}')(d)
        return torch.cat([self.branch1x1(x), s, d, self.branch_pool(avg3(x, self.fid))], 1)


class D(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b = x
        for k in range(1, 5):
            b = getattr(self, f'branch7x7x3_{k}')(b)
        return torch.cat([self.branch3x3_2(self.branch3x3_1(x)), b, F.max_pool2d(x, 3, 2)], 1)


class E(nn.Module):
    def __init__(self, cin, fid, max_pool=False):
        super().__init__()
        self.fid, self.max_pool = fid, max_pool
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward(self, x):
        t = self.branch3x3_1(x)
        d = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        pooled = F.max_pool2d(x, 3, 1, 1) if self.max_pool else avg3(x, self.fid)
        return torch.cat([self.branch1x1(x), torch.cat([self.branch3x3_2a(t), self.branch3x3_2b(t)], 1),
                          torch.cat([self.branch3x3dbl_3a(d), self.branch3x3dbl_3b(d)], 1),
                          self.branch_pool(pooled)], 1)


class Inception(nn.Module):
    def __init__(self, fid, aux=False):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b, self.Mixed_5c, self.Mixed_5d = A(192, 32, fid), A(256, 64, fid), A(288, 64, fid)
        self.Mixed_6a = B(288)
        self.Mixed_6b, self.Mixed_6c = C(768, 128, fid), C(768, 160, fid)
        self.Mixed_6d, self.Mixed_6e = C(768, 160, fid), C(768, 192, fid)
        if aux:  # torchvision's file carries the auxiliary classifier; only its keys matter here
            self.AuxLogits = nn.Module()
            self.AuxLogits.conv0 = BasicConv2d(768, 128, kernel_size=1)
            self.AuxLogits.fc = nn.Linear(768, 1000)
        self.Mixed_7a = D(768)
        self.Mixed_7b, self.Mixed_7c = E(1280, fid), E(2048, fid, max_pool=fid)
        self.fc = nn.Linear(2048, 1008 if fid else 1000)

    def forward(self, x):
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, 3, 2)
        x = F.max_pool2d(self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x)), 3, 2)
        for name in ['5b', '5c', '5d', '6a', '6b', '6c', '6d', '6e', '7a', '7b', '7c']:
            x = getattr(self, 'Mixed_' + name)(x)
        pool = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return pool, self.fc(pool)


def alexnet():
    m = nn.Module()
    m.features = nn.Sequential(
        nn.Conv2d(3, 64, 11, 4, 2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(),
        nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2))
    m.classifier = nn.Sequential(nn.Dropout(), nn.Linear(256 * 6 * 6, 64))  # shape differs; ignored by LPIPS
    return m


class Lin(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = nn.Sequential(nn.Dropout(), nn.Conv2d(c, 1, 1, bias=False))


def lpips_lins():
    m = nn.Module()
    for k, c in enumerate([64, 192, 384, 256, 256]):
        setattr(m, f'lin{k}', Lin(c))
        getattr(m, f'lin{k}').model[1].weight.data.uniform_(0, 1)  # the calibrated weights are non-negative
    return m


def randomise_bn(model):
    for mod in model.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.1)
            mod.running_var.uniform_(0.5, 1.5)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.normal_(0, 0.1)


def lpips_forward(alex, lins, a, b):
    shift = torch.tensor([-.030, -.088, -.188]).view(1, 3, 1, 1)
    scale = torch.tensor([.458, .448, .450]).view(1, 3, 1, 1)

    def taps(x):
        out, h = [], (x - shift) / scale
        for i, layer in enumerate(alex.features):
            h = layer(h)
            if i in (1, 4, 7, 9, 11):
                out.append(h)
        return out

    def unit(t):
        return t / (torch.sqrt(torch.sum(t ** 2, dim=1, keepdim=True)) + 1e-10)

    total = 0
    for k, (fa, fb) in enumerate(zip(taps(a), taps(b))):
        total = total + getattr(lins, f'lin{k}').model((unit(fa) - unit(fb)) ** 2).mean([2, 3], keepdim=True)
    return total.flatten()


def inception_input(images, mode):
    x = F.interpolate(images, size=(299, 299), mode='bilinear', align_corners=False)
    if mode == 'minus-one-to-one':
        return 2 * x - 1
    x = x.clone()
    x[:, 0] = x[:, 0] * (0.229 / 0.5) + (0.485 - 0.5) / 0.5
    x[:, 1] = x[:, 1] * (0.224 / 0.5) + (0.456 - 0.5) / 0.5
    x[:, 2] = x[:, 2] * (0.225 / 0.5) + (0.406 - 0.5) / 0.5
    return x


def keep_signal(model):
    """He-normal convolutions and near-identity BatchNorm, so that a deep random Inception's pool features still
    depend on the image (with PyTorch's default init they shrink layer by layer to a constant, and FID is ~0)."""
    for mod in model.modules():
        if isinstance(mod, nn.Conv2d):
            nn.init.kaiming_normal_(mod.weight, nonlinearity='relu')
        elif isinstance(mod, nn.BatchNorm2d):
            mod.running_mean.normal_(0, 0.01)
            mod.running_var.uniform_(0.9, 1.1)
            mod.weight.data.uniform_(0.9, 1.1)
            mod.bias.data.normal_(0, 0.01)


def build_all(folder, files, seed=0, which=('tv', 'fid', 'alex', 'lins'), signal=False):
    """Random networks (those named in `which`), their weight files in the official layouts under `folder`, in eval
    mode."""
    torch.manual_seed(seed)
    make = {'tv': lambda: Inception(fid=False, aux=True), 'fid': lambda: Inception(fid=True), 'alex': alexnet, 'lins': lpips_lins}
    names = {'tv': 'inceptionTorchvision', 'fid': 'inceptionFid', 'alex': 'alexnet', 'lins': 'lpipsAlex'}
    nets = {key: make[key]() for key in which}
    for key in ('tv', 'fid'):
        if key in nets:
            (keep_signal if signal else randomise_bn)(nets[key])
    for key, net in nets.items():
        torch.save(net.state_dict(), f"{folder}/{files[names[key]]}")
        net.eval()
    return nets
