// Containers: Sequential chains modules; ModuleList holds them for a forward written by hand.
import type { Tensor } from '../tensor.js';
import { Module, type UnaryModule } from './module.js';

/** Applies its modules in order; children are named '0', '1', ... as in PyTorch, so `0.weight` etc. */
export class Sequential extends Module {
  private readonly layers: UnaryModule[] = [];

  constructor(...modules: UnaryModule[]) {
    super();
    for (const m of modules) this.append(m);
  }

  /** Adds a module at the end, named by its index. Returns this. */
  append(m: UnaryModule): this {
    this.module(String(this.layers.length), m);
    this.layers.push(m);
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): UnaryModule {
    const m = this.layers.at(i);
    if (!m) throw new RangeError(`Sequential.at(${i}): index out of range for ${this.layers.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<UnaryModule> {
    return this.layers[Symbol.iterator]();
  }

  /** input -> the last module's output. */
  forward(input: Tensor): Tensor {
    let x = input;
    for (const m of this.layers) x = m.forward(x);
    return x;
  }
}

/** A list of registered modules, named '0', '1', ...; its owner's forward decides how to use them. */
export class ModuleList<M extends Module = Module> extends Module {
  private readonly items: M[] = [];

  constructor(modules: Iterable<M> = []) {
    super();
    for (const m of modules) this.push(m);
  }

  /** Adds a module at the end, named by its index. Returns this. */
  push(m: M): this {
    this.module(String(this.items.length), m);
    this.items.push(m);
    return this;
  }

  get length(): number {
    return this.items.length;
  }

  /** The i-th module (negative counts from the end). */
  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList.at(${i}): index out of range for ${this.items.length} modules`);
    return m;
  }

  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }

  forward(): never {
    throw new Error('ModuleList has no forward: iterate over it (for (const m of list) ...) in the owner\'s forward');
  }
}
