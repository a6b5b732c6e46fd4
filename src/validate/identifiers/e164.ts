// ITU-T E.164: at most 15 digits; a country code never starts with 0. 8 digits is the shortest we accept.
const e164 = /^\+[1-9]\d{7,14}$/;

/** A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0. */
export function isValidE164(s: string): boolean {
  return e164.test(s);
}
