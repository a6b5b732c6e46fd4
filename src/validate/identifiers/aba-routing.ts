// ABA routing transit number: 8 digits identifying the institution (Federal Reserve routing symbol + ABA
// institution identifier) and a check digit chosen so that the digits weighted 3, 7, 1, 3, 7, 1, 3, 7, 1 sum to
// a multiple of 10 (ABA Key to Routing Numbers; NACHA Operating Rules, Appendix Three, "Check Digit").
const routingWeights = [3, 7, 1, 3, 7, 1, 3, 7, 1] as const;

/** An ABA routing number: exactly 9 digits with 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isValidAbaRouting(s: string): boolean {
  if (s.length !== 9) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    sum += d * routingWeights[i]!;
  }
  return sum % 10 === 0;
}
