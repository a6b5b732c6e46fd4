import type { Config } from '../config/types.js';
import type { JoseOpener } from '../deps.js';
import type { Clock } from '../lib/clock.js';
import { loadJoseKeys, openJoseRecords } from './jwe.js';

/** Binds the JOSE module to the configured keys and limits, once at start. */
export async function createJoseOpener(config: Config, clock: Clock): Promise<JoseOpener> {
  const sourceFiles = new Map(Object.entries(config.sources).map(([id, s]) => [id, s.jwkPublicKeyFiles]));
  const keys = await loadJoseKeys(config.keys.jwksFile, sourceFiles);
  const limits = { maxTokenBytes: config.api.maxJoseBytes, maxInflatedBytes: config.api.maxInflatedBytes, clockSkewSeconds: config.api.clockSkewSeconds };
  return { openRecords: (compact, source) => openJoseRecords(compact, source, keys, limits, clock.now()) };
}
