// ITU-T E.164 (11/2010): an international number is at most 15 digits, and no country code starts with 0.
// The leading `+` is the ITU-T E.123 notation for one. The 8-digit floor is ours (FORMATS.md): it rejects
// truncated numbers, at the cost of the few 7-digit plans (e.g. Niue, +683 and 4 digits).
const minE164Digits = 8;
const maxE164Digits = 15;

/** A phone number in E.164 form: `+`, then 8 to 15 digits, the first not 0. No spaces or punctuation. */
export function isValidE164(s: string): boolean {
  const digits = s.length - 1;
  if (digits < minE164Digits || digits > maxE164Digits || s.charCodeAt(0) !== 43) return false; // 43 = '+'
  if (s.charCodeAt(1) === 48) return false; // no country code starts with 0
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
