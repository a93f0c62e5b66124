# A CPU rewrite of the maths of GFLA's three CUDA extensions and of the official networks built on them, for the
# parity tests (read by test/parity/models/gfla-*.test.ts and prepended to the oracle's case code). The ops loop over
# output positions exactly as the .cu kernels index them (one thread per output element), using tensor indexing so
# that autograd differentiates the same arithmetic. Written from the kernels' maths, not copied.
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


def _clamp(v, lo, hi):
    return max(min(v, hi), lo)


def ref_block_extractor(source, flow, k):
    b, c, hs, ws = source.shape
    _, _, h, w = flow.shape
    out = []
    for yy in range(h * k):
        row = []
        for xx in range(w * k):
            yf, xf = yy // k, xx // k
            oy, ox = yy % k - k // 2, xx % k - k // 2
            dy = flow[:, 1, yf, xf] + oy + yf
            dx = flow[:, 0, yf, xf] + ox + xf
            val = []
            for n in range(b):
                fy, fx = math.floor(dy[n].item()), math.floor(dx[n].item())
                yT, yB = _clamp(fy, 0, hs - 1), _clamp(fy + 1, 0, hs - 1)
                xL, xR = _clamp(fx, 0, ws - 1), _clamp(fx + 1, 0, ws - 1)
                ax = dx[n] - fx
                ay = dy[n] - fy
                s = source[n]
                val.append((1 - ax) * (1 - ay) * s[:, yT, xL] + ax * (1 - ay) * s[:, yT, xR]
                           + (1 - ax) * ay * s[:, yB, xL] + ax * ay * s[:, yB, xR])
            row.append(torch.stack(val, 0))
        out.append(torch.stack(row, -1))
    return torch.stack(out, -2)


def ref_local_attn_reshape(inputs, k):
    b, _, h, w = inputs.shape
    out = inputs.new_zeros(b, 1, h * k, w * k)
    for yy in range(h * k):
        for xx in range(w * k):
            out[:, 0, yy, xx] = inputs[:, (yy % k) * k + xx % k, yy // k, xx // k]
    return out


def ref_resample2d(source, flow, kernel_size=4, sigma=2.0, dilation=1):
    b, c, hs, ws = source.shape
    _, _, h, w = flow.shape
    out = source.new_zeros(b, c, h, w)
    for n in range(b):
        for y in range(h):
            for x in range(w):
                xf = x + flow[n, 0, y, x]
                yf = y + flow[n, 1, y, x]
                fx, fy = math.floor(xf.item()), math.floor(yf.item())
                alpha, beta = xf - fx, yf - fy
                val = 0
                tot = 0
                for ty in range(kernel_size // 2):
                    yT = _clamp(fy - ty * dilation, 0, hs - 1)
                    yB = _clamp(fy + (ty + 1) * dilation, 0, hs - 1)
                    for tx in range(kernel_size // 2):
                        xL = _clamp(fx - tx * dilation, 0, ws - 1)
                        xR = _clamp(fx + (tx + 1) * dilation, 0, ws - 1)
                        pxL = torch.exp(-(tx * dilation + alpha) ** 2 / (2 * sigma * sigma))
                        pxR = torch.exp(-((1 + tx) * dilation - alpha) ** 2 / (2 * sigma * sigma))
                        pyT = torch.exp(-(ty * dilation + beta) ** 2 / (2 * sigma * sigma))
                        pyB = torch.exp(-((1 + ty) * dilation - beta) ** 2 / (2 * sigma * sigma))
                        s = source[n]
                        val = val + pyT * pxL * s[:, yT, xL] + pyT * pxR * s[:, yT, xR] \
                            + pyB * pxL * s[:, yB, xL] + pyB * pxR * s[:, yB, xR]
                        tot = tot + pyT * pxL + pyT * pxR + pyB * pxL + pyB * pxR
                out[n, :, y, x] = val / tot
    return out


# Fast (vectorised) versions of the same maths for the network-level tests, checked against the loops above.
def fast_bilinear(source, dy, dx):
    b, c, hs, ws = source.shape
    flat = source.reshape(b, c, hs * ws)
    y0, x0 = torch.floor(dy), torch.floor(dx)
    ay, ax = dy - y0, dx - x0
    def idx(yv, xv):
        i = (yv.clamp(0, hs - 1).long() * ws + xv.clamp(0, ws - 1).long()).reshape(b, 1, -1).expand(b, c, -1)
        return flat.gather(2, i).reshape(b, c, *dy.shape[1:])
    ay, ax = ay.unsqueeze(1), ax.unsqueeze(1)
    return (idx(y0, x0) * (1 - ax) * (1 - ay) + idx(y0, x0 + 1) * ax * (1 - ay)
            + idx(y0 + 1, x0) * (1 - ax) * ay + idx(y0 + 1, x0 + 1) * ax * ay)


def fast_block_extractor(source, flow, k):
    b, _, h, w = flow.shape
    up = flow.repeat_interleave(k, 2).repeat_interleave(k, 3)
    py = torch.arange(h * k, dtype=flow.dtype)
    px = torch.arange(w * k, dtype=flow.dtype)
    by = torch.div(py, k, rounding_mode='floor') + py % k - k // 2
    bx = torch.div(px, k, rounding_mode='floor') + px % k - k // 2
    return fast_bilinear(source, up[:, 1] + by.view(1, -1, 1), up[:, 0] + bx.view(1, 1, -1))


def fast_local_attn_reshape(inputs, k):
    b, _, h, w = inputs.shape
    return inputs.view(b, k, k, h, w).permute(0, 3, 1, 4, 2).reshape(b, 1, h * k, w * k)


# ---- The official networks' layout (model/networks/base_function.py, generator.py, discriminator.py) on the ops above.
def norm_layer(c):
    return nn.InstanceNorm2d(c, affine=True)


def act():
    return nn.LeakyReLU(0.1)


class EncoderBlock(nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.model = nn.Sequential(norm_layer(i), act(), nn.Conv2d(i, o, 4, 2, 1), norm_layer(o), act(), nn.Conv2d(o, o, 3, 1, 1))

    def forward(self, x):
        return self.model(x)


class ResBlock(nn.Module):
    def __init__(self, i, o=None, hid=None):
        super().__init__()
        hid = i if hid is None else hid
        o = i if o is None else o
        self.learnable_shortcut = i != o
        self.model = nn.Sequential(norm_layer(i), act(), nn.Conv2d(i, hid, 3, 1, 1), norm_layer(hid), act(), nn.Conv2d(hid, o, 3, 1, 1))
        if self.learnable_shortcut:
            self.shortcut = nn.Sequential(nn.Conv2d(i, o, 1, 1, 0))

    def forward(self, x):
        return self.model(x) + (self.shortcut(x) if self.learnable_shortcut else x)


class ResBlocks(nn.Module):
    def __init__(self, n, i):
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(i, i, i) for _ in range(n)])

    def forward(self, x):
        return self.model(x)


class ResBlockDecoder(nn.Module):
    def __init__(self, i, o, hid=None, norm=True, spect=False):
        super().__init__()
        hid = i if hid is None else hid
        sn = nn.utils.spectral_norm if spect else (lambda m: m)
        c1 = sn(nn.Conv2d(i, hid, 3, 1, 1))
        c2 = sn(nn.ConvTranspose2d(hid, o, 3, 2, 1, 1))
        self.model = nn.Sequential(norm_layer(i), act(), c1, norm_layer(hid), act(), c2) if norm else nn.Sequential(act(), c1, act(), c2)
        self.shortcut = nn.Sequential(sn(nn.ConvTranspose2d(i, o, 3, 2, 1, 1)))

    def forward(self, x):
        return self.model(x) + self.shortcut(x)


class ResBlockEncoder(nn.Module):
    def __init__(self, i, o, hid):
        super().__init__()
        sn = nn.utils.spectral_norm
        self.model = nn.Sequential(act(), sn(nn.Conv2d(i, hid, 3, 1, 1)), act(), sn(nn.Conv2d(hid, o, 4, 2, 1)))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), sn(nn.Conv2d(i, o, 1, 1, 0)))

    def forward(self, x):
        return self.model(x) + self.shortcut(x)


class Jump(nn.Module):
    def __init__(self, i, o, k=3):
        super().__init__()
        self.model = nn.Sequential(norm_layer(i), act(), nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, padding=0, bias=True))

    def forward(self, x):
        return self.model(x)


class Output(nn.Module):
    def __init__(self, i, o, k=3):
        super().__init__()
        self.model = nn.Sequential(norm_layer(i), act(), nn.ReflectionPad2d(k // 2), nn.Conv2d(i, o, k, padding=0, bias=True), nn.Tanh())

    def forward(self, x):
        return self.model(x)


class ExtractorAttn(nn.Module):
    def __init__(self, c, k):
        super().__init__()
        self.k = k
        self.fully_connect_layer = nn.Sequential(nn.Conv2d(2 * c, 128, k, k, 0), act(), nn.Conv2d(128, k * k, 1, 1, 0), nn.Softmax(dim=1))

    def forward(self, source, target, flow):
        bs = fast_block_extractor(source, flow, self.k)
        bt = fast_block_extractor(target, torch.zeros_like(flow), self.k)
        a = fast_local_attn_reshape(self.fully_connect_layer(torch.cat((bt, bs), 1)), self.k)
        return F.avg_pool2d(a * bs, self.k, self.k)


class PoseSourceNet(nn.Module):
    def __init__(self, ic, ngf, img_f, layers):
        super().__init__()
        self.layers = layers
        self.block0 = EncoderBlock(ic, ngf)
        mult = 1
        for i in range(layers - 1):
            prev, mult = mult, min(2 ** (i + 1), img_f // ngf)
            setattr(self, 'encoder' + str(i), EncoderBlock(ngf * prev, ngf * mult))

    def forward(self, x):
        feats = [x]
        out = self.block0(x)
        feats.append(out)
        for i in range(self.layers - 1):
            out = getattr(self, 'encoder' + str(i))(out)
            feats.append(out)
        return list(reversed(feats))


class PoseTargetNet(nn.Module):
    def __init__(self, sc, oc, ngf, img_f, layers, num_blocks, attn_layer, kz):
        super().__init__()
        self.layers, self.attn_layer = layers, attn_layer
        self.block0 = EncoderBlock(sc, ngf)
        mult = 1
        for i in range(layers - 1):
            prev, mult = mult, min(2 ** (i + 1), img_f // ngf)
            setattr(self, 'encoder' + str(i), EncoderBlock(ngf * prev, ngf * mult))
        mult = min(2 ** (layers - 1), img_f // ngf)
        for i in range(layers):
            prev = mult
            mult = min(2 ** (layers - i - 2), img_f // ngf) if i != layers - 1 else 1
            if num_blocks == 1:
                up = nn.Sequential(ResBlockDecoder(ngf * prev, ngf * mult))
            else:
                up = nn.Sequential(ResBlocks(num_blocks - 1, ngf * prev), ResBlockDecoder(ngf * prev, ngf * mult))
            setattr(self, 'decoder' + str(i), up)
            if layers - i in attn_layer:
                setattr(self, 'attn' + str(i), ExtractorAttn(ngf * prev, kz[layers - i]))
        self.outconv = Output(ngf, oc, 3)

    def forward(self, target_B, feats, flows, masks):
        out = self.block0(target_B)
        for i in range(self.layers - 1):
            out = getattr(self, 'encoder' + str(i))(out)
        n = 0
        for i in range(self.layers):
            if self.layers - i in self.attn_layer:
                a = getattr(self, 'attn' + str(i))(feats[i], out, flows[n])
                out = out * (1 - masks[n]) + a * masks[n]
                n += 1
            out = getattr(self, 'decoder' + str(i))(out)
        return self.outconv(out)


class PoseFlowNet(nn.Module):
    def __init__(self, ic, sc, ngf, img_f, encoder_layer, attn_layer):
        super().__init__()
        self.encoder_layer, self.attn_layer = encoder_layer, attn_layer
        self.decoder_layer = encoder_layer - min(attn_layer)
        self.block0 = EncoderBlock(2 * sc + ic, ngf)
        mult = 1
        for i in range(encoder_layer - 1):
            prev, mult = mult, min(2 ** (i + 1), img_f // ngf)
            setattr(self, 'encoder' + str(i), EncoderBlock(ngf * prev, ngf * mult))
        for i in range(self.decoder_layer):
            prev = mult
            mult = min(2 ** (encoder_layer - i - 2), img_f // ngf) if i != encoder_layer - 1 else 1
            setattr(self, 'decoder' + str(i), ResBlockDecoder(ngf * prev, ngf * mult, ngf * mult))
            setattr(self, 'jump' + str(i), Jump(ngf * mult, ngf * mult, 3))
            if encoder_layer - i - 1 in attn_layer:
                setattr(self, 'output' + str(i), nn.Conv2d(ngf * mult, 2, 3, 1, 1, bias=True))
                setattr(self, 'mask' + str(i), nn.Sequential(nn.Conv2d(ngf * mult, 1, 3, 1, 1, bias=True), nn.Sigmoid()))

    def forward(self, source, source_B, target_B):
        flows, masks = [], []
        out = self.block0(torch.cat((source, source_B, target_B), 1))
        result = [out]
        for i in range(self.encoder_layer - 1):
            out = getattr(self, 'encoder' + str(i))(out)
            result.append(out)
        for i in range(self.decoder_layer):
            out = getattr(self, 'decoder' + str(i))(out)
            out = out + getattr(self, 'jump' + str(i))(result[self.encoder_layer - i - 2])
            if self.encoder_layer - i - 1 in self.attn_layer:
                flows.append(getattr(self, 'output' + str(i))(out))
                masks.append(getattr(self, 'mask' + str(i))(out))
        return flows, masks


class PoseGenerator(nn.Module):
    def __init__(self, ic=3, sc=18, oc=3, ngf=64, img_f=512, layers=3, num_blocks=2, attn_layer=(2, 3), kz=None,
                 flow_ngf=32, flow_img_f=256, flow_layers=5):
        super().__init__()
        kz = kz or {2: 5, 3: 3}
        self.source = PoseSourceNet(ic, ngf, img_f, layers)
        self.target = PoseTargetNet(sc, oc, ngf, img_f, layers, num_blocks, list(attn_layer), kz)
        self.flow_net = PoseFlowNet(ic, sc, flow_ngf, flow_img_f, flow_layers, list(attn_layer))

    def forward(self, source, source_B, target_B):
        feats = self.source(source)
        flows, masks = self.flow_net(source, source_B, target_B)
        return self.target(target_B, feats, flows, masks), flows, masks


class ResDiscriminator(nn.Module):
    def __init__(self, ic=3, ndf=32, img_f=128, layers=4):
        super().__init__()
        self.layers = layers
        self.nonlinearity = act()
        self.block0 = ResBlockEncoder(ic, ndf, ndf)
        mult = 1
        for i in range(layers - 1):
            prev, mult = mult, min(2 ** (i + 1), img_f // ndf)
            setattr(self, 'encoder' + str(i), ResBlockEncoder(ndf * prev, ndf * mult, ndf * prev))
        self.conv = nn.utils.spectral_norm(nn.Conv2d(ndf * mult, 1, 1))

    def forward(self, x):
        out = self.block0(x)
        for i in range(self.layers - 1):
            out = getattr(self, 'encoder' + str(i))(out)
        return self.conv(self.nonlinearity(out))


def count(m):
    return sum(p.numel() for p in m.parameters())


# ---- Losses, written the way external_function.py computes them, on the vectorised ops.
def fast_resample2d(source, flow, kernel_size=4, sigma=2.0, dilation=1):
    b, c, hs, ws = source.shape
    _, _, h, w = flow.shape
    flat = source.reshape(b, c, hs * ws)
    xf = flow[:, 0] + torch.arange(w, dtype=flow.dtype).view(1, 1, w)
    yf = flow[:, 1] + torch.arange(h, dtype=flow.dtype).view(1, h, 1)
    x0, y0 = torch.floor(xf), torch.floor(yf)
    alpha, beta = xf - x0, yf - y0
    g = lambda d: torch.exp(-d * d / (2 * sigma * sigma))
    val, tot = 0, 0
    for ty in range(kernel_size // 2):
        for tx in range(kernel_size // 2):
            pxL, pxR = g(tx * dilation + alpha), g((1 + tx) * dilation - alpha)
            pyT, pyB = g(ty * dilation + beta), g((1 + ty) * dilation - beta)
            yT = (y0 - ty * dilation).clamp(0, hs - 1).long()
            yB = (y0 + (ty + 1) * dilation).clamp(0, hs - 1).long()
            xL = (x0 - tx * dilation).clamp(0, ws - 1).long()
            xR = (x0 + (tx + 1) * dilation).clamp(0, ws - 1).long()
            def at(yy, xx):
                i = (yy * ws + xx).reshape(b, 1, -1).expand(b, c, -1)
                return flat.gather(2, i).reshape(b, c, h, w)
            val = val + (pyT * pxL).unsqueeze(1) * at(yT, xL) + (pyT * pxR).unsqueeze(1) * at(yT, xR) \
                + (pyB * pxL).unsqueeze(1) * at(yB, xL) + (pyB * pxR).unsqueeze(1) * at(yB, xR)
            tot = tot + pyT * pxL + pyT * pxR + pyB * pxL + pyB * pxR
    return val / tot.unsqueeze(1)


def official_correctness(target_vgg, source_vgg, flow, eps=1e-8):
    b, c, h, w = target_vgg.shape
    flow = F.interpolate(flow, [h, w])
    target_all = target_vgg.view(b, c, -1)
    source_all = source_vgg.view(b, c, -1).transpose(1, 2)
    source_norm = source_all / (source_all.norm(dim=2, keepdim=True) + eps)
    target_norm = target_all / (target_all.norm(dim=1, keepdim=True) + eps)
    correction = torch.bmm(source_norm, target_norm)
    correction_max, _ = torch.max(correction, dim=1)
    input_sample = fast_resample2d(source_vgg, flow, 4, 2.0, 1).view(b, c, -1)
    correction_sample = F.cosine_similarity(input_sample, target_all)
    loss_map = torch.exp(-correction_sample / (correction_max + eps))
    return torch.mean(loss_map) - torch.exp(torch.tensor(-1).type_as(loss_map))


def official_affine_regularization(flow, kz):
    import numpy as np
    temp = np.arange(kz)
    A = np.ones([kz * kz, 3])
    A[:, 0] = temp.repeat(kz)
    A[:, 1] = temp.repeat(kz).reshape((kz, kz)).transpose().reshape(kz ** 2)
    AH = A.transpose()
    k = np.dot(A, np.dot(np.linalg.inv(np.dot(AH, A)), AH)) - np.identity(kz ** 2)
    kernel = torch.from_numpy(np.dot(k.transpose(), k)).unsqueeze(1).view(kz ** 2, kz, kz).unsqueeze(1).type_as(flow)
    b, _, h, w = flow.shape
    x = torch.arange(w).view(1, -1).expand(h, -1).type_as(flow)
    y = torch.arange(h).view(-1, 1).expand(-1, w).type_as(flow)
    grid = flow + torch.stack([x, y], 0).unsqueeze(0)
    loss = 0
    for comp in (0, 1):
        g = grid[:, comp].unsqueeze(1)
        res = F.conv2d(g, kernel)
        bb, cc, hh, ww = res.shape
        kernels_new = fast_local_attn_reshape(res, kz)
        f = torch.zeros(bb, 2, hh, ww).type_as(kernels_new) + float(int(kz / 2))
        grid_H = fast_block_extractor(g, f, kz)
        loss = loss + torch.mean(F.avg_pool2d(grid_H * kernels_new, kz, kz)) * kz ** 2
    return loss


def compute_gram(x):
    b, ch, h, w = x.size()
    f = x.view(b, ch, w * h)
    return f.bmm(f.transpose(1, 2)) / (h * w * ch)


# ---- One training iteration of the whole model (pose_model.py optimize_parameters) on the ops above, for the
# speed comparison (bench/gfla-torch.ts).
VGG_POOLS = {4, 9, 18, 27, 36}
VGG_NAMES = {1: 'relu1_1', 6: 'relu2_1', 8: 'relu2_2', 11: 'relu3_1', 17: 'relu3_4', 20: 'relu4_1', 26: 'relu4_4', 29: 'relu5_1', 31: 'relu5_2'}


def vgg_feats(vgg, x, taps):
    out, h = {}, x
    deepest = max(i for i, n in VGG_NAMES.items() if n in taps)
    for i in range(deepest + 1):
        if ('features.%d.weight' % i) in vgg:
            h = F.conv2d(h, vgg['features.%d.weight' % i], vgg['features.%d.bias' % i], padding=1)
        elif i in VGG_POOLS:
            h = F.max_pool2d(h, 2, 2)
        else:
            h = F.relu(h)
        if VGG_NAMES.get(i) in taps:
            out[VGG_NAMES[i]] = h
    return out


class RefTrainer:
    def __init__(self, g, d, vgg, attn_layer, kz, lr=1e-4):
        self.g, self.d, self.vgg = g, d, vgg
        self.layers = sorted(attn_layer, reverse=True)
        self.kz = kz
        self.optG = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.0, 0.999))
        self.optD = torch.optim.Adam(d.parameters(), lr=lr * 0.1, betas=(0.0, 0.999))

    def step(self, P1, BP1, P2, BP2):
        """One iteration; returns the loss terms by their official names (weighted)."""
        terms = {}
        img, flows, masks = self.g(P1, BP1, BP2)
        self.optD.zero_grad()
        real, fake = self.d(P2), self.d(img.detach())
        dl = (F.mse_loss(real, torch.ones_like(real)) + F.mse_loss(fake, torch.zeros_like(fake))) * 0.5
        terms['dis_img_gen'] = dl.item()
        dl.backward()
        self.optD.step()
        self.optG.zero_grad()
        taps = ['relu%d_1' % (l + 1) for l in self.layers]
        with torch.no_grad():
            ft, fs = vgg_feats(self.vgg, P2, taps), vgg_feats(self.vgg, P1, taps)
        parts = [F.l1_loss(img, P2) * 5]
        terms['app_gen'] = parts[0].item()
        corr, reg = 0, 0
        for i, l in enumerate(self.layers):
            t = 'relu%d_1' % (l + 1)
            corr = corr + official_correctness(ft[t], fs[t], flows[i])
            reg = reg + official_affine_regularization(flows[i], self.kz[l])
        parts += [corr * 5, reg * 0.0025]
        terms['correctness_gen'], terms['regularization'] = parts[1].item(), parts[2].item()
        for p in self.d.parameters():
            p.requires_grad_(False)
        sc = self.d(img)
        parts.append(F.mse_loss(sc, torch.ones_like(sc)) * 2)
        terms['ad_gen'] = parts[-1].item()
        for p in self.d.parameters():
            p.requires_grad_(True)
        all_taps = list(VGG_NAMES.values())
        fx = vgg_feats(self.vgg, img, all_taps)
        with torch.no_grad():
            fy = vgg_feats(self.vgg, P2, all_taps)
        content = sum(F.l1_loss(fx[t], fy[t]) for t in ['relu1_1', 'relu2_1', 'relu3_1', 'relu4_1', 'relu5_1'])
        style = sum(F.l1_loss(compute_gram(fx[t]), compute_gram(fy[t])) for t in ['relu2_2', 'relu3_4', 'relu4_4', 'relu5_2'])
        parts += [content * 0.5, style * 500]
        terms['content_gen'], terms['style_gen'] = parts[-2].item(), parts[-1].item()
        sum(parts).backward()
        self.optG.step()
        return terms
