// `reposer serve`: the pose editor on this machine, a thin shell over src/serve.
import type { Command } from 'commander';
import { createServer, DEFAULT_LIMITS, isLoopback } from '../serve/server.js';
import { nonNegativeInt, positiveInt } from './options.js';
import { decodeImage, PoseDetector } from '../detect/index.js';
import { visibleCount, type Pose } from '../pose/skeleton.js';

interface ServeCliOptions {
  checkpoint: string;
  port: number;
  host: string;
  data?: string;
  queue: number;
  detect: boolean;
}

export function registerServe(program: Command): void {
  program.command('serve')
    .description('the pose editor: a local web page to pose a person by hand and see the generated image at once')
    .requiredOption('--checkpoint <dir>', 'a run directory, or a folder of run directories (one model each)')
    .option('--port <n>', 'port to listen on (0: any free one)', nonNegativeInt, 8080)
    .option('--host <host>', 'address to bind; anything but loopback exposes the editor, which has no authentication', '127.0.0.1')
    .option('--data <dir>', "a dataset folder: its test poses join the pose library, and an upload named as one of its images takes that image's pose")
    .option('--no-detect', 'do not detect the pose of uploaded photos (MoveNet thunder, about a second each on the server thread)')
    .option('--queue <n>', 'generations that may wait before requests get 503 + Retry-After', positiveInt, DEFAULT_LIMITS.queueCapacity)
    .addHelpText('after', '\nExample:\n  reposer serve --checkpoint runs/ --data data/market\n  then open http://127.0.0.1:8080/')
    .action(async (o: ServeCliOptions) => {
      if (!isLoopback(o.host)) {
        console.warn(`warning: --host ${o.host} exposes the editor beyond this machine, and it has no authentication: ` +
          'anyone who can reach this address can upload images and use your CPU. Use --host 127.0.0.1 unless you mean it.');
      }
      const detector = o.detect ? await PoseDetector.load() : null;
      const detectPose = detector
        ? async (image: Buffer): Promise<Pose | null> => {
          const r = await detector.detectDecoded(await decodeImage(image, 'the upload'));
          return visibleCount(r.pose) > 0 ? r.pose : null;
        }
        : undefined;
      const app = await createServer({ checkpoint: o.checkpoint, data: o.data, limits: { queueCapacity: o.queue }, detectPose });
      const url = await app.listen({ port: o.port, host: o.host });
      console.log(`reposer serve: ${url}/ (Ctrl+C to stop)`);
      const stop = (): void => { void app.close().then(() => process.exit(0)); };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
