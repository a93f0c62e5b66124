// Value parsers for commander options: each names the option and says what it wants, so `--steps x` fails with
// "option '--steps <n>' argument 'x' is invalid. expected a positive integer".
import { InvalidArgumentError } from 'commander';
import { isPreset, PRESETS, type Preset } from '../models/registry.js';

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('expected a positive integer');
  return Number(value);
}

export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a non-negative integer');
  return Number(value);
}

export function integer(value: string): number {
  if (!/^-?\d+$/.test(value)) throw new InvalidArgumentError('expected an integer');
  return Number(value);
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

export function fraction(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number in [0, 1]');
  return n;
}

/** HxW in pixels, e.g. 128x64. */
export function frame(value: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(value);
  if (!m) throw new InvalidArgumentError('expected HxW in pixels, e.g. 128x64');
  return [Number(m[1]), Number(m[2])];
}

export function preset(value: string): Preset {
  if (!isPreset(value)) throw new InvalidArgumentError(`expected one of ${PRESETS.join(', ')}`);
  return value;
}

/** Repeatable options (--set a=1 --set b=2) collect into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function oneOf<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}
