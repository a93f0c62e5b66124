// The main thread's side of the inference worker: one request, one promise.
import { Worker } from 'node:worker_threads';
import type { WorkerReply, WorkerRequest } from './worker.js';

export class InferenceWorker {
  private worker: Worker;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: Uint8Array | number) => void; reject: (e: Error) => void }>();
  private closed = false;

  constructor() {
    this.worker = this.start();
  }

  private start(): Worker {
    const worker = new Worker(new URL('./worker.js', import.meta.url));
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if ('error' in reply) p.reject(new Error(reply.error));
      else p.resolve(reply.value);
    });
    // A crash fails what was in flight and the next request starts a fresh worker: one bad input must not take the
    // server's generation down for good.
    const fail = (why: string): void => {
      for (const p of this.pending.values()) p.reject(new Error(`the inference worker stopped (${why}); try again`));
      this.pending.clear();
      if (!this.closed) this.worker = this.start();
    };
    let why = '';
    worker.on('error', (err) => { why = err.message; });
    worker.on('exit', (code) => { if (!this.closed && this.worker === worker) fail(why || `exit code ${code}`); });
    return worker;
  }

  request(request: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<Uint8Array | number> {
    if (this.closed) return Promise.reject(new Error('the inference worker is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, request }, transfer);
    });
  }

  async bytes(request: WorkerRequest): Promise<Buffer> {
    const v = await this.request(request);
    if (typeof v === 'number') throw new Error(`the inference worker answered ${request.kind} with a number`);
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker.terminate();
  }
}
