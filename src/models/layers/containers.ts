// A typed list of child modules named '0', '1', ... (as torch.nn.ModuleList), so state-dict names read
// `enc.3.conv1.weight` while TypeScript keeps each child's own type.
import * as torch from '../../torch/index.js';

export class Stack<M extends torch.nn.Module> extends torch.nn.Module {
  readonly items: M[] = [];

  constructor(items: readonly M[] = []) {
    super();
    for (const m of items) this.push(m);
  }

  push(m: M): M {
    this.items.push(this.module(String(this.items.length), m));
    return m;
  }

  at(i: number): M {
    const m = this.items[i];
    if (m === undefined) throw new RangeError(`Stack: no module at index ${i} (length ${this.items.length})`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }

  /** A Stack is a container; its children are called individually. */
  forward(x: torch.Tensor): torch.Tensor {
    return x;
  }
}
