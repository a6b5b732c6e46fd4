// NACHA: the DFI account number field of an ACH entry is 17 characters; 4 is the shortest in use.
const accountDigits = /^\d{4,17}$/;

/** A US bank account number: 4 to 17 digits. */
export function isValidBankAccountNumber(s: string): boolean {
  return accountDigits.test(s);
}
