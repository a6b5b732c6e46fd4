// US bank (DFI) account numbers have no national format or check digit. The upper bound is the ACH limit:
// the DFI Account Number field of an Entry Detail Record is 17 positions (NACHA Operating Rules, Appendix Three).
// The lower bound of 4 is our own floor: shorter values are in practice truncations or placeholders.
const minAccountDigits = 4;
const maxAccountDigits = 17;

/** A US bank account number: 4 to 17 ASCII digits (leading zeros kept; no spaces or dashes). */
export function isValidBankAccountNumber(s: string): boolean {
  if (s.length < minAccountDigits || s.length > maxAccountDigits) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
