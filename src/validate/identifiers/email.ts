// RFC 5322 dot-atom local part (no quoted local parts: no creditor system sends them) and an RFC 1035 host name.
const localPart = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const domain = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** A practical RFC 5322 addr-spec: local part ≤ 64, domain with at least one dot, total ≤ 254 (RFC 5321). */
export function isValidEmail(s: string): boolean {
  if (s.length > 254) return false;
  const at = s.lastIndexOf('@');
  if (at < 1 || at > 64) return false;
  return localPart.test(s.slice(0, at)) && domain.test(s.slice(at + 1));
}
