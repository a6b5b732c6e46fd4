import { buildDeps } from '../../deps.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { systemClock } from '../../lib/clock.js';
import { eraseSubject, findSubject, subjectReport } from '../../officers/subjects.js';
import { cliLogger, commonOptions, exit, loadFromFlags, parse, writeJson, type Command } from '../io.js';

const usage = `veilgate subject report (--token T | --national-id N [--type us_ssn|cn_ric|gb_nino|other]) --officer ID
veilgate subject erase  (--token T | --national-id N [--type …]) --officer ID --yes`;

/**
 * `veilgate subject report|erase`: a subject-access report as JSON, or erasure by crypto-shredding.
 * The officer's id is recorded in the audit log; the national id given is used only to find the token.
 */
export const subjectCommand: Command = async (argv, io) => {
  const [sub, ...rest] = argv;
  if (sub !== 'report' && sub !== 'erase') throw new GatewayError('USAGE_INVALID', { usage });
  const { values } = parse(rest, {
    ...commonOptions, token: { type: 'string' }, 'national-id': { type: 'string' }, type: { type: 'string' }, officer: { type: 'string' }, yes: { type: 'boolean' },
  }, false);
  const { config } = loadFromFlags(values, io);
  if (values.officer === undefined || !(values.officer in config.officers)) throw new GatewayError('USAGE_INVALID', { reason: '--officer must name a configured officer', usage });
  if (sub === 'erase' && values.yes !== true) throw new GatewayError('USAGE_INVALID', { reason: 'erasure cannot be undone: add --yes', usage });
  const deps = await buildDeps(config, { clock: systemClock, log: cliLogger(values['log-level'], io) });
  try {
    const subject = await findSubject(deps, { token: values.token, nationalId: values['national-id'], type: values.type });
    if (subject === null) throw new GatewayError('NOT_FOUND');
    writeJson(io, sub === 'report' ? await subjectReport(deps, subject, values.officer) : await eraseSubject(deps, subject, values.officer));
    return exit.ok;
  } finally {
    await deps.store.close();
  }
};
