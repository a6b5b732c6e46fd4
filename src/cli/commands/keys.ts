import { GatewayError } from '../../errors/gateway-error.js';
import { writeGatewayKeys } from '../../keys/generate.js';
import { exit, parse, type Command } from '../io.js';

/** `veilgate keys init --out DIR`: a fresh key set for a real deployment. Never overwrites a key. */
export const keysCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'init') throw new GatewayError('USAGE_INVALID', { usage: 'veilgate keys init --out DIR' });
  const { values } = parse(rest, { out: { type: 'string' } }, false);
  if (values.out === undefined) throw new GatewayError('USAGE_INVALID', { usage: 'veilgate keys init --out DIR' });
  const files = await writeGatewayKeys(values.out);
  io.stdout.write(`wrote ${files.length} key files to ${values.out} (private files are mode 0600):\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  return exit.ok;
};
