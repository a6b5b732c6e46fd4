#!/usr/bin/env -S node --max-old-space-size=160
// The CLI entry: the compiled TypeScript in dist/ (built by `npm run build`, which `npm install` runs via `prepare`).
// The heap bound: the pipeline streams (live heap ~30 MiB on a 1M-record file), but V8 lets garbage grow
// to several hundred MiB before collecting unless told a limit; this keeps peak RSS bounded by config.
import '../dist/cli/main.js';
