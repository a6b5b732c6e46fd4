#!/usr/bin/env -S MALLOC_ARENA_MAX=2 node --max-old-space-size=160 --max-semi-space-size=4
// The CLI entry: the compiled TypeScript in dist/ (built by `npm run build`, which `npm install` runs via `prepare`).
// The heap bound: the pipeline streams (live heap ~30 MiB on a 1M-record file), but V8 lets garbage grow
// to several hundred MiB before collecting unless told a limit; this keeps peak RSS bounded by config.
// MALLOC_ARENA_MAX: glibc gives each thread (the prepare worker, V8's GC helpers) malloc arenas of its
// own, which hold on to memory: two are enough (1M records: peak RSS 209 MiB with one or two, 222 without).
// The young generation: its semi-spaces are most of what the heap adds to RSS. At 4 MiB (the default
// here is larger) a 1M-record ingest with the earlier, batch-at-a-time worker thread peaked at 185 MiB
// instead of 211, for 9 % more time (more frequent scavenges); 16 MiB was 12 % faster but peaked at 240.
// Measured 2026-11-29 with the worker that parses and prepares (limits.prepareOnWorker, the default): a
// 1M-record file peaks at 167-171 MiB, a 4M-record one at 168; on one thread, 141-149 and 170.
import '../dist/cli/main.js';
