// The server's work queue: bounded, so a flood is refused early (503 + Retry-After) instead of piling up memory and
// latency, and coalescing, so a client that sends a pose per mouse move only ever has its newest pose waiting.

/** What a submitted job came to: its result, or `superseded` when a newer job with the same key replaced it. */
export type Outcome<R> = { kind: 'done'; value: R } | { kind: 'superseded' };

/** Thrown by submit() when the queue holds `capacity` waiting jobs; the caller answers 503 with Retry-After. */
export class QueueFullError extends Error {
  constructor(readonly capacity: number, readonly retryAfterSeconds: number) {
    super(`the server is busy: ${capacity} generations are already waiting; retry in ${retryAfterSeconds} s`);
  }
}

interface Waiting<J, R> {
  key: string | null;
  job: J;
  resolve: (outcome: Outcome<R>) => void;
  reject: (err: unknown) => void;
}

export interface QueueStats {
  waiting: number;
  running: number;
  capacity: number;
  done: number;
  superseded: number;
  refused: number;
}

/**
 * Runs jobs one at a time (the worker thread computes one generation at a time anyway) from at most `capacity`
 * waiting jobs. A job submitted with the key of a job still waiting takes its place: the older one resolves as
 * `superseded` and the newer keeps the older's turn, so coalescing never costs a client its place in line.
 */
export class CoalescingQueue<J, R> {
  private waiting: Waiting<J, R>[] = [];
  private running = 0;
  private stats = { done: 0, superseded: 0, refused: 0 };
  // A running mean of job time, for Retry-After; starts at a guess of one second.
  private meanJobMs = 1000;

  constructor(private readonly capacity: number, private readonly run: (job: J) => Promise<R>) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`CoalescingQueue: capacity must be a positive integer, got ${capacity}`);
  }

  /** Queues `job`; throws QueueFullError when full. `key` null never coalesces (an animation, say). */
  submit(key: string | null, job: J): Promise<Outcome<R>> {
    return new Promise<Outcome<R>>((resolve, reject) => {
      const same = key === null ? -1 : this.waiting.findIndex((w) => w.key === key);
      if (same >= 0) {
        const older = this.waiting[same] as Waiting<J, R>;
        this.waiting[same] = { key, job, resolve, reject };
        this.stats.superseded++;
        older.resolve({ kind: 'superseded' });
        return;
      }
      if (this.waiting.length >= this.capacity) {
        this.stats.refused++;
        reject(new QueueFullError(this.capacity, this.retryAfterSeconds()));
        return;
      }
      this.waiting.push({ key, job, resolve, reject });
      this.pump();
    });
  }

  /** Seconds until the queue has likely drained, at least 1 (Retry-After takes whole seconds). */
  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(((this.waiting.length + this.running) * this.meanJobMs) / 1000));
  }

  snapshot(): QueueStats {
    return { waiting: this.waiting.length, running: this.running, capacity: this.capacity, ...this.stats };
  }

  private pump(): void {
    if (this.running > 0) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.running++;
    const started = performance.now();
    this.run(next.job).then(
      (value) => next.resolve({ kind: 'done', value }),
      (err: unknown) => next.reject(err),
    ).finally(() => {
      this.meanJobMs = 0.8 * this.meanJobMs + 0.2 * (performance.now() - started);
      this.stats.done++;
      this.running--;
      this.pump();
    });
  }
}
