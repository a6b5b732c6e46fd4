/** Value of `count` ASCII digits at `start`, or -1 if any of them is not a digit (no slicing, no regex: hot path). */
export function digitsAt(s: string, start: number, count: number): number {
  let value = 0;
  for (let i = start; i < start + count; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}
