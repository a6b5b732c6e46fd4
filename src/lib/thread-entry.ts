import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * A worker thread that runs the module at `moduleUrl` (the caller's `import.meta.url`); the module
 * tells the thread from the main one by its `workerData`. From the TypeScript sources (tests), the
 * thread registers tsx before it loads the module.
 */
export function threadOf(moduleUrl: string, options: Omit<WorkerOptions, 'eval'>): Worker {
  const fromSource = moduleUrl.endsWith('.ts');
  const entry = fromSource
    ? `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); })`
    : new URL(moduleUrl);
  return new Worker(entry, { ...options, eval: fromSource });
}
