import { afterAll } from 'vitest';
import { removeTempDirs } from './helpers/temp-dirs.js';

// Registered before each test file's own hooks, so it runs after them (hooks unwind as a stack): the
// file's stores are closed and its processes stopped by then.
afterAll(removeTempDirs);
