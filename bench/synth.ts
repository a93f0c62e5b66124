// `node dist/bench/synth.js`: synthetic renders per second at 128x64 on one core; prints one JSON object.
// The data bench (bench/data.ts) reports the same figure through benchSynth().
import { benchSynth } from '../src/synth/bench.js';

const renders = Number(process.env.REPOSER_BENCH_RENDERS ?? 400);
console.log(JSON.stringify(await benchSynth({ renders })));
