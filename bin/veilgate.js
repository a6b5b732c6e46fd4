#!/usr/bin/env node
// The CLI entry: the compiled TypeScript in dist/ (built by `npm run build`, which `npm install` runs via `prepare`).
import '../dist/cli/main.js';
