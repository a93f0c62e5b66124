// Mixed precision: a scope over libtorch's own autocast (the dispatcher casts per op, as torch.autocast does in
// Python), and the question whether this machine computes a lower-precision dtype natively.
import { readFileSync } from 'node:fs';
import { native as N } from './native.js';
import { dtypeCode, dtypeName, type DType } from './dtype.js';

export type AutocastDevice = 'cpu' | 'cuda';
export type AutocastDType = 'bfloat16' | 'float16';

export interface AutocastOptions {
  /** false runs fn with autocast off for this device (e.g. a loss kept in float32 inside an autocast region). */
  enabled?: boolean;
}

function checkDevice(device: unknown, what: string): asserts device is AutocastDevice {
  if (device !== 'cpu' && device !== 'cuda') {
    throw new TypeError(`${what}: device must be 'cpu' or 'cuda' (a device type, as torch.autocast's device_type), got '${String(device)}'`);
  }
}

function checkDType(dtype: unknown, what: string): asserts dtype is AutocastDType {
  if (dtype !== 'bfloat16' && dtype !== 'float16') {
    throw new TypeError(`${what}: dtype must be 'bfloat16' or 'float16', got '${String(dtype)}'`);
  }
}

/**
 * Runs fn with autocast on for `device`, as `with torch.autocast(device, dtype):` in Python: ops on the lower-precision
 * list (conv2d, linear, matmul, mm, ...) cast their floating inputs to `dtype` and return `dtype`; ops on the float32
 * list (mse_loss, ...) compute in float32; the rest follow their inputs. Parameters stay float32 (master weights):
 * each op casts a copy, cached per leaf tensor until the outermost autocast exits, and gradients flow back through the
 * cast, so parameter gradients are float32. Call backward outside the scope, as PyTorch recommends.
 *
 * Scopes nest; each restores the previous state when fn returns or throws. fn must be synchronous (the state is the
 * calling thread's and would leak across an await).
 *
 * Refused with the reason, never silently run in float32: CPU with float16 (libtorch 1.13's CPU autocast takes bfloat16
 * only; PyTorch warns, then raises), CUDA without a CUDA device (PyTorch warns and disables autocast), and CUDA
 * bfloat16 on a device without native bfloat16 (PyTorch raises). CPU bfloat16 runs on any CPU, but without
 * AVX512-BF16 or AMX it is much slower than float32: ask autocastSupported() first.
 */
export function autocast<T>(device: AutocastDevice, dtype: AutocastDType, fn: () => T, options: AutocastOptions = {}): T {
  checkDevice(device, 'autocast');
  checkDType(dtype, 'autocast');
  if (typeof fn !== 'function') throw new TypeError('autocast: fn must be a function to run under autocast');
  const enabled = options.enabled ?? true;
  // libtorch refuses to hold float16 as the CPU autocast dtype even with autocast off; say why before it does.
  if (device === 'cpu' && dtype === 'float16') {
    throw new Error("autocast: CPU autocast in libtorch 1.13 supports only 'bfloat16', not 'float16'; use 'bfloat16', or run float32 when autocastSupported('cpu', 'bfloat16') is false");
  }
  if (enabled) {
    if (device === 'cuda' && N.cudaDeviceCount() === 0) {
      throw new Error("autocast: device 'cuda' asked for, but no CUDA device is available; use 'cpu' or run float32");
    }
    if (device === 'cuda' && dtype === 'bfloat16' && !N.cudaBf16Supported()) {
      throw new Error("autocast: this CUDA device has no native bfloat16 (compute capability 8.0+ needed); use 'float16'");
    }
  }
  const [wasEnabled, wasDtype] = N.autocastEnter(device, enabled, dtypeCode(dtype));
  let result: T;
  try {
    result = fn();
  } finally {
    N.autocastExit(device, wasEnabled, wasDtype);
  }
  if (result instanceof Promise) {
    throw new Error('autocast: fn returned a Promise; autocast covers synchronous work only (await outside, autocast inside)');
  }
  return result;
}

/** Whether autocast is on for `device` on this thread (torch.is_autocast_enabled / is_autocast_cpu_enabled). */
export function isAutocastEnabled(device: AutocastDevice = 'cpu'): boolean {
  checkDevice(device, 'isAutocastEnabled');
  return N.autocastState(device)[0];
}

/** The dtype autocast casts to on `device` (torch.get_autocast_cpu_dtype / get_autocast_gpu_dtype). */
export function autocastDtype(device: AutocastDevice = 'cpu'): DType {
  checkDevice(device, 'autocastDtype');
  return dtypeName(N.autocastState(device)[1]);
}

let cpuFlags: Set<string> | undefined;

function cpuFlagSet(): Set<string> {
  if (cpuFlags === undefined) {
    let text = '';
    try {
      text = readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      // Not Linux: no flags to read, so no native bfloat16 is claimed.
    }
    const line = /^flags\s*:(.*)$/m.exec(text);
    cpuFlags = new Set((line?.[1] ?? '').trim().split(/\s+/));
  }
  return cpuFlags;
}

/**
 * Whether autocast with `dtype` on `device` runs natively here, i.e. is worth turning on. CPU bfloat16: the CPU
 * reports avx512_bf16 or amx_bf16 (/proc/cpuinfo). CPU float16: false (libtorch 1.13's CPU autocast has none).
 * CUDA float16: a CUDA device is present. CUDA bfloat16: the device has compute capability 8.0 or later.
 * A trainer asks once, says so when false, and runs float32.
 */
export function autocastSupported(device: AutocastDevice, dtype: AutocastDType): boolean {
  checkDevice(device, 'autocastSupported');
  checkDType(dtype, 'autocastSupported');
  if (device === 'cpu') {
    if (dtype === 'float16') return false;
    const flags = cpuFlagSet();
    return flags.has('avx512_bf16') || flags.has('amx_bf16');
  }
  if (N.cudaDeviceCount() === 0) return false;
  return dtype === 'float16' || N.cudaBf16Supported();
}
