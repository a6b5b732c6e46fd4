/**
 * The file state machine. Every file ends in exactly one final state:
 *
 *   received ──claim──▶ processing ──commit──▶ committed
 *       │                  │  ▲
 *       │                  │  └── lease expired / owner died: claimed again, staging cleared, replayed from the spool
 *       │                  └──reject──▶ rejected
 *   (same source + same bytes already committed) ──▶ duplicate
 *
 * A rejected file commits nothing, so the same bytes sent again are processed afresh (e.g. after the
 * source's key was registered); a committed file's bytes sent again are a duplicate.
 */
export type FileState = 'received' | 'processing' | 'committed' | 'rejected' | 'duplicate';

export const finalStates: ReadonlySet<FileState> = new Set(['committed', 'rejected', 'duplicate']);

export function isFinal(state: FileState): boolean {
  return finalStates.has(state);
}

/** Codes that end a file `rejected`; any other error leaves it unfinished for a replay. */
export function rejectsFile(code: string): boolean {
  return /^(OPEN|JOSE|PARSE|FILE|SPOOL)_/.test(code) && code !== 'SPOOL_MISSING';
}
