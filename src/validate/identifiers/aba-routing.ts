const nineDigits = /^\d{9}$/;

/** An ABA routing transit number: 9 digits, 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10). */
export function isValidAbaRouting(s: string): boolean {
  if (!nineDigits.test(s)) return false;
  const d = (i: number) => s.charCodeAt(i) - 48;
  return (3 * (d(0) + d(3) + d(6)) + 7 * (d(1) + d(4) + d(7)) + (d(2) + d(5) + d(8))) % 10 === 0;
}
