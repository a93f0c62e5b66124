// A restricted unpickler. It builds only data (None, bools, ints, floats, strings, bytes, lists, tuples, dicts) and
// whatever the caller's findGlobal hands out for a whitelisted global; it never imports or runs Python code, so a
// crafted pickle can at worst be rejected. Protocols 0-5 are parsed, minus the opcodes that construct arbitrary
// class instances without a global lookup we control (INST, OBJ, extension registry, out-of-band buffers).

/** A Python dict or collections.OrderedDict; insertion order is kept, as in Python. */
export class PyDict<V = unknown> extends Map<unknown, V> {
  /** Attributes that pickle's BUILD set on the object, e.g. a state dict's `_metadata`. */
  readonly attributes = new Map<string, unknown>();

  constructor(readonly pyType: 'dict' | 'collections.OrderedDict' = 'dict') {
    super();
  }
}

/** A whitelisted global, handed out by findGlobal: REDUCE and NEWOBJ call `call` with the argument tuple. */
export class PyCallable {
  constructor(readonly qualname: string, readonly call: (args: unknown[]) => unknown) {}
}

export interface UnpickleOptions {
  /** Names the pickle in errors, e.g. 'checkpoint a.pth (archive/data.pkl)'. */
  what: string;
  /** Resolves a GLOBAL; must throw for anything not allowed. */
  findGlobal(module: string, name: string): unknown;
  /** Resolves a persistent id (torch.save uses them for storages). Without it, persistent ids are rejected. */
  persistentLoad?(pid: unknown): unknown;
}

const OPNAMES: Record<number, string> = {
  0x69: 'INST', 0x6f: 'OBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET',
};

function tupleOf(values: unknown[]): unknown[] {
  return Object.freeze(values) as unknown[];
}

/** Whether a value came from a Python tuple (tuples are frozen arrays, lists are ordinary arrays). */
export function isTuple(v: unknown): boolean {
  return Array.isArray(v) && Object.isFrozen(v);
}

/**
 * Thrown when the data ends inside the pickle. A reader that holds only a prefix of a longer stream (torch.save's legacy
 * format puts several pickles back to back before the storages) can read more and try again.
 */
export class PickleTruncatedError extends Error {}

/** Unpickles `data` under the restrictions above. Errors name `options.what`, the byte offset and the problem. */
export function unpickle(data: Uint8Array, options: UnpickleOptions): unknown {
  return unpickleAt(data, 0, options).value;
}

/**
 * Unpickles the pickle that starts at byte `start` of `data`, which may hold more after it; `end` is the offset just
 * past its STOP opcode. Byte offsets in errors count from the start of `data`.
 */
export function unpickleAt(data: Uint8Array, start: number, options: UnpickleOptions): { value: unknown; end: number } {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const what = options.what;
  let pos = start;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  // Annotated so TypeScript treats calls as assertions (code after fail() is unreachable).
  const fail: (problem: string, at?: number) => never = (problem, at = pos) => {
    throw new Error(`${what}: ${problem} (at byte ${at})`);
  };
  const truncated = (problem: string): never => {
    throw new PickleTruncatedError(`${what}: truncated pickle: ${problem} (at byte ${pos})`);
  };
  const need = (n: number): void => {
    if (pos + n > buf.length) truncated(`needs ${n} more bytes but the data ends`);
  };
  const u8 = (): number => { need(1); return buf[pos++] as number; };
  const u16 = (): number => { need(2); const v = buf.readUInt16LE(pos); pos += 2; return v; };
  const i32 = (): number => { need(4); const v = buf.readInt32LE(pos); pos += 4; return v; };
  const u32 = (): number => { need(4); const v = buf.readUInt32LE(pos); pos += 4; return v; };
  const u64 = (): number => {
    need(8);
    const v = buf.readBigUInt64LE(pos);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${v} is too large`);
    return Number(v);
  };
  const bytes = (n: number): Buffer => { need(n); const v = buf.subarray(pos, pos + n); pos += n; return v; };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) truncated('a text argument has no newline');
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow; the pickle is corrupt');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow; the pickle is corrupt');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const prev = marks.pop();
    if (prev === undefined) return fail('no MARK on the stack; the pickle is corrupt');
    stack = prev;
    return items;
  };
  const signedLE = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i] as number);
    if ((b[b.length - 1] as number) & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const textInt = (s: string): number | bigint => {
    const t = s.replace(/L$/, '');
    if (!/^[-+]?\d+$/.test(t)) fail(`invalid integer literal '${s}'`);
    const v = BigInt(t);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const call = (fn: unknown, args: unknown, opcode: string): unknown => {
    if (!(fn instanceof PyCallable)) fail(`${opcode} applied to ${describe(fn)}, which is not a callable this loader allows`);
    if (!Array.isArray(args)) fail(`${opcode} arguments for ${fn.qualname} are not a tuple`);
    try {
      return fn.call(args);
    } catch (err) {
      fail(`${fn.qualname}: ${(err as Error).message}`);
    }
  };
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    if (!(target instanceof PyDict)) fail(`SETITEM on ${describe(target)}, which is not a dict`);
    target.set(key, value);
  };
  const global = (module: string, name: string): unknown => options.findGlobal(module, name);

  // The length of a pickle always bounds the work: every opcode consumes at least one byte.
  for (;;) {
    const at = pos;
    const op = u8();
    switch (op) {
      case 0x80: u8(); break; // PROTO
      case 0x95: u64(); break; // FRAME: framing is only a hint for buffered readers
      case 0x2e: { // STOP
        const result = pop();
        if (stack.length !== 0 || marks.length !== 0) fail('data left on the stack at STOP; the pickle is corrupt', at);
        return { value: result, end: pos };
      }
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: stack.push(signedLE(bytes(u8()))); break; // LONG1
      case 0x8b: { const n = i32(); if (n < 0) fail('negative LONG4 length', at); stack.push(signedLE(bytes(n))); break; }
      case 0x49: { // INT (protocol 0; "01"/"00" are True/False)
        const s = line();
        stack.push(s === '01' ? true : s === '00' ? false : textInt(s));
        break;
      }
      case 0x4c: stack.push(textInt(line())); break; // LONG
      case 0x46: { const s = line(); const v = Number(s); if (Number.isNaN(v) && !/nan/i.test(s)) fail(`invalid float '${s}'`, at); stack.push(v); break; }
      case 0x47: { need(8); stack.push(buf.readDoubleBE(pos)); pos += 8; break; } // BINFLOAT
      case 0x58: stack.push(bytes(u32()).toString('utf8')); break; // BINUNICODE
      case 0x8c: stack.push(bytes(u8()).toString('utf8')); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(bytes(u64()).toString('utf8')); break; // BINUNICODE8
      case 0x56: stack.push(line().replace(/\\u([0-9a-fA-F]{4})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)))); break; // UNICODE
      case 0x54: { const n = i32(); if (n < 0) fail('negative BINSTRING length', at); stack.push(bytes(n).toString('latin1')); break; }
      case 0x55: stack.push(bytes(u8()).toString('latin1')); break; // SHORT_BINSTRING
      case 0x42: stack.push(new Uint8Array(bytes(u32()))); break; // BINBYTES
      case 0x43: stack.push(new Uint8Array(bytes(u8()))); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: stack.push(new Uint8Array(bytes(u64()))); break; // BINBYTES8, BYTEARRAY8
      case 0x29: stack.push(tupleOf([])); break; // EMPTY_TUPLE
      case 0x74: { const items = popMark(); stack.push(tupleOf(items)); break; } // TUPLE (popMark swaps `stack`, so call it first)
      case 0x85: stack.push(tupleOf([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(tupleOf([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(tupleOf([a, b, c])); break; } // TUPLE3
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x6c: { const items = popMark(); stack.push(items); break; } // LIST
      case 0x61: { // APPEND
        const v = pop();
        const list = top();
        if (!Array.isArray(list) || isTuple(list)) fail(`APPEND to ${describe(list)}, which is not a list`, at);
        list.push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = top();
        if (!Array.isArray(list) || isTuple(list)) fail(`APPENDS to ${describe(list)}, which is not a list`, at);
        for (const v of items) list.push(v);
        break;
      }
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x64: { // DICT
        const items = popMark();
        const d = new PyDict();
        for (let i = 0; i + 1 < items.length; i += 2) d.set(items[i], items[i + 1]);
        stack.push(d);
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(top(), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        const d = top();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of items', at);
        for (let i = 0; i < items.length; i += 2) setItem(d, items[i], items[i + 1]);
        break;
      }
      case 0x63: { const module = line(); const name = line(); stack.push(global(module, name)); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings', at);
        stack.push(global(module, name));
        break;
      }
      case 0x52: { const args = pop(); const fn = pop(); stack.push(call(fn, args, 'REDUCE')); break; } // REDUCE
      case 0x81: { const args = pop(); const cls = pop(); stack.push(call(cls, args, 'NEWOBJ')); break; } // NEWOBJ
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop();
        const args = pop();
        const cls = pop();
        if (!(kwargs instanceof PyDict) || kwargs.size !== 0) fail('NEWOBJ_EX with keyword arguments is not supported', at);
        stack.push(call(cls, args, 'NEWOBJ_EX'));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) fail(`BUILD (setting object state) on ${describe(obj)} is not supported`, at);
        // state is a dict of attributes, or (dict, slot dict) when the class has __slots__.
        const parts: unknown[] = Array.isArray(state) && isTuple(state) && state.length === 2 ? state : [state];
        for (const part of parts) {
          if (part === null) continue;
          if (!(part instanceof PyDict)) fail(`BUILD state for a dict is ${describe(part)}, not a dict of attributes`, at);
          for (const [k, v] of part) {
            if (typeof k !== 'string') fail('BUILD attribute name is not a string', at);
            obj.attributes.set(k, v);
          }
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop();
        const load = options.persistentLoad;
        if (!load) return fail('persistent id found, but this pickle may not reference external data', at);
        stack.push(load(pid));
        break;
      }
      case 0x50: { // PERSID
        const pid = line();
        const load = options.persistentLoad;
        if (!load) return fail('persistent id found, but this pickle may not reference external data', at);
        stack.push(load(pid));
        break;
      }
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x70: memo.set(Number(textInt(line())), top()); break; // PUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: case 0x6a: case 0x67: { // BINGET, LONG_BINGET, GET
        const key = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(textInt(line()));
        if (!memo.has(key)) fail(`memo key ${key} was never stored; the pickle is corrupt`, at);
        stack.push(memo.get(key));
        break;
      }
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default: {
        const name = OPNAMES[op];
        fail(name
          ? `pickle opcode ${name} is not allowed by the restricted unpickler (it builds objects this loader does not support)`
          : `unknown pickle opcode 0x${op.toString(16).padStart(2, '0')}; the file is corrupt or not a pickle`, at);
      }
    }
  }
}

/** A short description of an unpickled value for error messages. */
export function describe(v: unknown): string {
  if (v === null) return 'None';
  if (v instanceof PyCallable) return v.qualname;
  if (v instanceof PyDict) return `a ${v.pyType} of ${v.size} entries`;
  if (Array.isArray(v)) return `a ${isTuple(v) ? 'tuple' : 'list'} of ${v.length}`;
  if (v instanceof Uint8Array) return `bytes of length ${v.length}`;
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return `${typeof v} ${String(v)}`;
}
