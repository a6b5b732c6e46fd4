// A practical RFC 5322 §3.4.1 addr-spec: `local-part@domain`, where
// - the local part is a dot-atom (§3.2.3): runs of atext joined by single dots, at most 64 octets (RFC 5321
//   §4.5.3.1.1). Quoted local parts ("john smith"@…) are deliberately not accepted: they are legal but no
//   creditor system produces them, and rejecting them keeps the rule simple to state;
// - the domain is a host name (RFC 1035 §2.3.1, RFC 1123 §2.1): at least two dot-separated labels of ASCII
//   letters, digits and hyphens, 1–63 octets each (RFC 1035 §2.3.4), not starting or ending with a hyphen.
//   No address literals ([192.0.2.1]) and no trailing dot;
// - the whole address is at most 254 octets, the 256-octet path limit less its angle brackets (RFC 5321
//   §4.5.3.1.3, erratum 1690).
// Internationalised addresses (RFC 6531) are not accepted; IDN domains pass in their xn-- (A-label) form.
const maxLocalPartLength = 64;
const maxLabelLength = 63;
const maxAddressLength = 254;

/** 1 for the ASCII characters allowed in an atom (RFC 5322 §3.2.3 atext), indexed by char code. */
const atext = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const isAlnum = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  if (isAlnum || "!#$%&'*+-/=?^_`{|}~".includes(String.fromCharCode(c))) atext[c] = 1;
}

function isLetterOrDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Local part `s[0, end)`: a dot-atom of 1–64 characters. */
function isDotAtom(s: string, end: number): boolean {
  if (end < 1 || end > maxLocalPartLength) return false;
  let previousWasDot = true; // so that a leading dot is rejected
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) { // '.'
      if (previousWasDot) return false;
      previousWasDot = true;
    } else if (c < 128 && atext[c] === 1) {
      previousWasDot = false;
    } else {
      return false;
    }
  }
  return !previousWasDot;
}

/** Domain `s[start, s.length)`: two or more LDH labels of 1–63 characters, each starting and ending alphanumeric. */
function isHostName(s: string, start: number): boolean {
  let labelStart = start;
  let labels = 0;
  for (let i = start; i <= s.length; i++) {
    const c = i === s.length ? 46 : s.charCodeAt(i); // a virtual '.' closes the last label
    if (c === 46) {
      const labelLength = i - labelStart;
      if (labelLength < 1 || labelLength > maxLabelLength) return false;
      if (!isLetterOrDigit(s.charCodeAt(labelStart)) || !isLetterOrDigit(s.charCodeAt(i - 1))) return false;
      labels++;
      labelStart = i + 1;
    } else if (c !== 45 && !isLetterOrDigit(c)) { // 45 = '-', allowed inside a label
      return false;
    }
  }
  return labels >= 2;
}

/**
 * An e-mail address as a practical RFC 5322 addr-spec: a dot-atom local part of at most 64 characters, `@`, and a
 * host name with at least one dot; at most 254 characters in all. Quoted local parts, address literals and
 * non-ASCII addresses are rejected.
 */
export function isValidEmail(s: string): boolean {
  if (s.length > maxAddressLength) return false;
  const at = s.indexOf('@');
  // '@' is not atext, so the local part cannot contain a second one, and isHostName rejects one in the domain.
  return at >= 0 && isDotAtom(s, at) && isHostName(s, at + 1);
}
