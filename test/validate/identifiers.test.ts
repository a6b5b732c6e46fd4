// Unit tests for the identifier validators. Valid vectors are published test values where one exists
// (card-network test PANs, the SWIFT registry's example IBANs, the GB 11643 sample ID, Federal Reserve routing
// numbers); every invalid vector breaks exactly one rule, so a test fails for the reason its name gives.
import { describe, expect, it } from 'vitest';
import {
  ageInYears, calendarDateToDayNumber, daysInMonth, isCalendarDate, isIso3166Alpha2, isIso4217, isLeapYear,
  isoDateToDayNumber, isValidAbaRouting, isValidBankAccountNumber, isValidCardNumber, isValidCnResidentId,
  isValidE164, isValidEmail, isValidGbNino, isValidIban, isValidSsn, luhnValid, normaliseCardNumber,
  normaliseCnResidentId, normaliseGbNino, normaliseIban, normaliseSsn, parseIsoDate, utcDayNumber,
} from '../../src/validate/identifiers/index.js';

const today = new Date('2026-11-28T12:00:00Z');

/** Appends the GB 11643 / ISO 7064 MOD 11-2 check character, so a test can vary one rule at a time. */
function withCnCheckChar(first17: string): string {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * weights[i]!;
  return first17 + '10X98765432'[sum % 11]!;
}

describe('Luhn and card numbers (ISO/IEC 7812-1)', () => {
  it.each([
    ['4111111111111111', 'Visa test PAN'],
    ['5555555555554444', 'Mastercard test PAN'],
    ['378282246310005', 'American Express test PAN, 15 digits'],
    ['6011111111111117', 'Discover test PAN'],
    ['30569309025904', 'Diners Club test PAN, 14 digits'],
    ['4222222222222', 'Visa 13-digit test PAN'],
    ['411111111117', '12 digits, the minimum'],
    ['4111111111111111110', '19 digits, the maximum'],
  ])('accepts %s (%s)', (pan) => {
    expect(isValidCardNumber(pan)).toBe(true);
  });

  it('accepts a card number printed with spaces or dashes', () => {
    expect(isValidCardNumber('4111 1111 1111 1111')).toBe(true);
    expect(isValidCardNumber('6011-1111-1111-1117')).toBe(true);
    expect(isValidCardNumber('3782 822463 10005')).toBe(true);
  });

  it('rejects a card number whose Luhn check digit is wrong', () => {
    expect(isValidCardNumber('4111111111111112')).toBe(false);
    expect(isValidCardNumber('5555555555554445')).toBe(false);
  });

  it('rejects a Luhn-valid number of 11 digits, one too few', () => {
    expect(luhnValid('41111111112')).toBe(true);
    expect(isValidCardNumber('41111111112')).toBe(false);
  });

  it('rejects a Luhn-valid number of 20 digits, one too many', () => {
    expect(luhnValid('41111111111111111115')).toBe(true);
    expect(isValidCardNumber('41111111111111111115')).toBe(false);
  });

  it('rejects a card number containing a letter or a separator other than space and dash', () => {
    expect(isValidCardNumber('4111a11111111111')).toBe(false);
    expect(isValidCardNumber('4111.1111.1111.1111')).toBe(false);
    expect(isValidCardNumber('4111_1111_1111_1111')).toBe(false);
  });

  it('rejects an empty string and separators alone', () => {
    expect(isValidCardNumber('')).toBe(false);
    expect(isValidCardNumber('---- ----')).toBe(false);
  });

  it('normalises a card number to its digits', () => {
    expect(normaliseCardNumber('4111 1111-1111 1111')).toBe('4111111111111111');
    expect(normaliseCardNumber('378282246310005')).toBe('378282246310005');
  });

  it('computes Luhn over digits only, rejecting empty input and non-digits', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('0')).toBe(true);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('7992739871x')).toBe(false);
    expect(luhnValid('4111 1111 1111 1111')).toBe(false);
  });
});

describe('IBAN (ISO 13616, SWIFT registry lengths, ISO 7064 MOD 97-10)', () => {
  it.each([
    'GB82WEST12345698765432',
    'DE89370400440532013000',
    'FR1420041010050500013M02606',
    'NL91ABNA0417164300',
    'BE68539007547034',
    'CH9300762011623852957',
    'BR1800360305000010009795493C1',
    'MT84MALT011000012345MTLCAST001S',
    'HN88CABF00000000000250005469',
  ])('accepts the registry example %s', (iban) => {
    expect(isValidIban(iban)).toBe(true);
  });

  it('accepts the shortest (Norway, 15) and the longest (Russia, 33) registry lengths', () => {
    expect(isValidIban('NO9386011117947')).toBe(true);
    expect(isValidIban('RU0304452522540817810538091310419')).toBe(true);
  });

  it('accepts the printed form, grouped by spaces and in lower case', () => {
    expect(isValidIban('GB82 WEST 1234 5698 7654 32')).toBe(true);
    expect(isValidIban('gb82 west 1234 5698 7654 32')).toBe(true);
  });

  it('rejects an IBAN whose check digits are wrong', () => {
    expect(isValidIban('GB83WEST12345698765432')).toBe(false);
  });

  it('rejects an IBAN with a transposed BBAN character', () => {
    expect(isValidIban('GB82WEST12345698765423')).toBe(false);
  });

  it('rejects an IBAN whose length is wrong for its country, even with correct check digits', () => {
    expect(isValidIban('DE5137040044053201300')).toBe(false); // 21 characters, mod-97 fine
    expect(isValidIban('DE813704004405320130000')).toBe(false); // 23 characters, mod-97 fine
  });

  it('rejects a country code that has no IBAN, even with correct check digits', () => {
    expect(isValidIban('US02WEST12345698765432')).toBe(false);
  });

  it('rejects check digits 00, 01 and 99, which MOD 97-10 never produces, even where the remainder is 1', () => {
    expect(isValidIban('GB02WEST12345698760082')).toBe(true);
    expect(isValidIban('GB99WEST12345698760082')).toBe(false);
    expect(isValidIban('GB97WEST12345698760021')).toBe(true);
    expect(isValidIban('GB00WEST12345698760021')).toBe(false);
    expect(isValidIban('GB98WEST12345698760003')).toBe(true);
    expect(isValidIban('GB01WEST12345698760003')).toBe(false);
  });

  it('rejects check digits that are not digits', () => {
    expect(isValidIban('GBX2WEST12345698765432')).toBe(false);
  });

  it('rejects a country code that is not two letters', () => {
    expect(isValidIban('1282WEST12345698765432')).toBe(false);
  });

  it('rejects a BBAN with a character that is not a letter or digit', () => {
    expect(isValidIban('GB82WEST1234569876543-')).toBe(false);
    expect(isValidIban('GB82WEST12345698765\u00e932')).toBe(false);
  });

  it('rejects separators other than spaces', () => {
    expect(isValidIban('GB82-WEST-1234-5698-7654-32')).toBe(false);
    expect(isValidIban('GB82\tWEST12345698765432')).toBe(false);
  });

  it('rejects an empty string', () => {
    expect(isValidIban('')).toBe(false);
  });

  it('normalises by removing spaces and upper-casing', () => {
    expect(normaliseIban('gb82 west 1234 5698 7654 32')).toBe('GB82WEST12345698765432');
  });
});

describe('US Social Security number', () => {
  it.each(['123-45-6789', '123456789', '001-01-0001', '665-99-9999', '899-99-9999'])('accepts %s', (ssn) => {
    expect(isValidSsn(ssn)).toBe(true);
  });

  it.each([
    ['000-12-3456', 'area 000'],
    ['666-12-3456', 'area 666'],
    ['900-12-3456', 'area 900'],
    ['999-12-3456', 'area 999'],
    ['123-00-4567', 'group 00'],
    ['123-45-0000', 'serial 0000'],
    ['000123456', 'area 000 without dashes'],
  ])('rejects %s, which SSA never issues (%s)', (ssn) => {
    expect(isValidSsn(ssn)).toBe(false);
  });

  it.each([
    ['12-345-6789', 'dashes in the wrong places'],
    ['123-456789', 'only the first dash'],
    ['12345-6789', 'only the second dash'],
    ['123 45 6789', 'spaces instead of dashes'],
    ['12345678', '8 digits'],
    ['1234567890', '10 digits'],
    ['123-45-678a', 'a letter'],
    ['', 'empty'],
  ])('rejects %s (%s)', (ssn) => {
    expect(isValidSsn(ssn)).toBe(false);
  });

  it('normalises to 9 digits', () => {
    expect(normaliseSsn('123-45-6789')).toBe('123456789');
    expect(normaliseSsn('123456789')).toBe('123456789');
  });
});

describe('PRC resident identity card number (GB 11643-1999, ISO 7064 MOD 11-2)', () => {
  it('accepts the GB 11643 sample number with check character X', () => {
    expect(isValidCnResidentId('11010519491231002X', today)).toBe(true);
  });

  it('accepts a lower-case x check character and normalises it to X', () => {
    expect(isValidCnResidentId('11010519491231002x', today)).toBe(true);
    expect(normaliseCnResidentId('11010519491231002x')).toBe('11010519491231002X');
  });

  it('rejects a number whose check character is wrong', () => {
    expect(isValidCnResidentId('110105194912310021', today)).toBe(false);
    expect(isValidCnResidentId('11010519491231002Y', today)).toBe(false);
  });

  it('rejects an impossible birth date (1949-02-31) even with a correct check character', () => {
    expect(withCnCheckChar('11010519490231002')).toBe('110105194902310026');
    expect(isValidCnResidentId('110105194902310026', today)).toBe(false);
  });

  it('rejects month 13 and day 00 even with a correct check character', () => {
    expect(isValidCnResidentId(withCnCheckChar('11010519491331002'), today)).toBe(false);
    expect(isValidCnResidentId(withCnCheckChar('11010519491200002'), today)).toBe(false);
  });

  it('follows the Gregorian leap-year rule for 29 February', () => {
    expect(isValidCnResidentId(withCnCheckChar('11010520000229002'), today)).toBe(true);
    expect(isValidCnResidentId(withCnCheckChar('11010519000229002'), today)).toBe(false);
  });

  it('rejects a birth date after today, and accepts one on today itself', () => {
    expect(isValidCnResidentId(withCnCheckChar('11010520261129002'), today)).toBe(false);
    expect(isValidCnResidentId(withCnCheckChar('11010520261128002'), today)).toBe(true);
  });

  it('rejects a birth year before 1900, and accepts 1900-01-01', () => {
    expect(isValidCnResidentId(withCnCheckChar('11010518991231002'), today)).toBe(false);
    expect(isValidCnResidentId(withCnCheckChar('11010519000101002'), today)).toBe(true);
  });

  it('rejects 17 or 19 characters', () => {
    expect(isValidCnResidentId('11010519491231002', today)).toBe(false);
    expect(isValidCnResidentId('11010519491231002X0', today)).toBe(false);
  });

  it('rejects a letter among the first 17 characters', () => {
    expect(isValidCnResidentId('1101051949123100XX', today)).toBe(false);
  });

  it('rejects every number when today is an invalid Date, rather than skipping the date check', () => {
    expect(isValidCnResidentId('11010519491231002X', new Date(Number.NaN))).toBe(false);
  });
});

describe('UK National Insurance number (HMRC NIM39110)', () => {
  it.each(['AB123456C', 'CE123456D', 'ZY000000A', 'OA123456B'])('accepts %s', (nino) => {
    expect(isValidGbNino(nino)).toBe(true);
  });

  it('accepts the printed form with spaces and lower case, and normalises it', () => {
    expect(isValidGbNino('ab 12 34 56 c')).toBe(true);
    expect(normaliseGbNino('ab 12 34 56 c')).toBe('AB123456C');
  });

  it.each(['DA', 'FA', 'IA', 'QA', 'UA', 'VA'])('rejects %s…, a first prefix letter HMRC never uses', (prefix) => {
    expect(isValidGbNino(`${prefix}123456C`)).toBe(false);
  });

  it.each(['AD', 'AF', 'AI', 'AQ', 'AU', 'AV', 'AO'])('rejects %s…, a second prefix letter HMRC never uses', (prefix) => {
    expect(isValidGbNino(`${prefix}123456C`)).toBe(false);
  });

  it('rejects the HMRC example QQ123456C, whose prefix uses Q', () => {
    expect(isValidGbNino('QQ123456C')).toBe(false);
  });

  it.each(['BG', 'GB', 'KN', 'NK', 'NT', 'TN', 'ZZ'])('rejects the unallocated prefix %s', (prefix) => {
    expect(isValidGbNino(`${prefix}123456A`)).toBe(false);
  });

  it.each([
    ['AB123456E', 'suffix E'],
    ['AB123456', 'no suffix'],
    ['AB12345C', '5 digits'],
    ['AB1234567C', '7 digits'],
    ['AB12345XC', 'a letter among the digits'],
    ['A1123456C', 'a digit in the prefix'],
    ['AB-12-34-56-C', 'dashes'],
    ['', 'empty'],
  ])('rejects %s (%s)', (nino) => {
    expect(isValidGbNino(nino)).toBe(false);
  });
});

describe('ABA routing number', () => {
  it.each(['011000015', '021000021', '121000358', '026009593', '322271627'])('accepts %s', (routing) => {
    expect(isValidAbaRouting(routing)).toBe(true);
  });

  it('rejects a routing number whose check digit is wrong', () => {
    expect(isValidAbaRouting('011000016')).toBe(false);
    expect(isValidAbaRouting('021000012')).toBe(false);
  });

  it.each([
    ['01100001', '8 digits'],
    ['0110000150', '10 digits'],
    ['01100001A', 'a letter'],
    ['0110-0001-5', 'dashes'],
    ['', 'empty'],
  ])('rejects %s (%s)', (routing) => {
    expect(isValidAbaRouting(routing)).toBe(false);
  });
});

describe('US bank account number', () => {
  it('accepts 4 to 17 digits, leading zeros included', () => {
    expect(isValidBankAccountNumber('1234')).toBe(true);
    expect(isValidBankAccountNumber('0001234567')).toBe(true);
    expect(isValidBankAccountNumber('12345678901234567')).toBe(true);
  });

  it('rejects 3 digits, one fewer than the minimum', () => {
    expect(isValidBankAccountNumber('123')).toBe(false);
  });

  it('rejects 18 digits, one more than the ACH DFI Account Number field holds', () => {
    expect(isValidBankAccountNumber('123456789012345678')).toBe(false);
  });

  it('rejects letters, dashes and spaces', () => {
    expect(isValidBankAccountNumber('1234A678')).toBe(false);
    expect(isValidBankAccountNumber('1234-5678')).toBe(false);
    expect(isValidBankAccountNumber('1234 5678')).toBe(false);
  });
});

describe('phone number (E.164)', () => {
  it.each(['+14155552671', '+442071838750', '+8613800138000', '+12345678', '+123456789012345'])('accepts %s', (phone) => {
    expect(isValidE164(phone)).toBe(true);
  });

  it.each([
    ['+0123456789', 'a country code starting with 0'],
    ['14155552671', 'no leading +'],
    ['+1234567', '7 digits, one too few'],
    ['+1234567890123456', '16 digits, one too many'],
    ['+1 415 555 2671', 'spaces'],
    ['+1-415-555-2671', 'dashes'],
    ['++14155552671', 'a second +'],
    ['+1415555267a', 'a letter'],
    ['+', 'no digits'],
    ['', 'empty'],
  ])('rejects %s (%s)', (phone) => {
    expect(isValidE164(phone)).toBe(false);
  });
});

describe('e-mail address (practical RFC 5322 addr-spec)', () => {
  const local64 = 'l'.repeat(64);
  // 64 + 1 + 189 = 254 characters, every label within 63.
  const domain189 = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.com`;

  it.each([
    'a@example.com',
    'first.last+tag@sub.example.co.uk',
    "o'neil@example.org",
    "!#$%&'*+-/=?^_`{|}~@example.com",
    'user@xn--bcher-kva.example',
    'x@a-b.io',
    'user@123.example',
  ])('accepts %s', (email) => {
    expect(isValidEmail(email)).toBe(true);
  });

  it('accepts a 64-character local part and a 254-character address', () => {
    expect(domain189.length).toBe(189);
    expect(isValidEmail(`${local64}@example.com`)).toBe(true);
    expect(isValidEmail(`${local64}@${domain189}`)).toBe(true);
  });

  it('rejects a 65-character local part', () => {
    expect(isValidEmail(`${local64}l@example.com`)).toBe(false);
  });

  it('rejects a 255-character address whose parts are each within their limits', () => {
    expect(isValidEmail(`${local64}@${domain189.replace('.com', '.comm')}`)).toBe(false);
  });

  it.each([
    ['plainaddress', 'no @'],
    ['@example.com', 'an empty local part'],
    ['a@', 'an empty domain'],
    ['a@b@example.com', 'two @'],
    ['.a@example.com', 'a leading dot in the local part'],
    ['a.@example.com', 'a trailing dot in the local part'],
    ['a..b@example.com', 'two dots in a row in the local part'],
    ['a b@example.com', 'a space in the local part'],
    ['"a b"@example.com', 'a quoted local part, deliberately unsupported'],
    ['jos\u00e9@example.com', 'a non-ASCII local part'],
    ['a@localhost', 'a domain without a dot'],
    ['a@-example.com', 'a label starting with a hyphen'],
    ['a@example-.com', 'a label ending with a hyphen'],
    ['a@example..com', 'an empty label'],
    ['a@example.com.', 'a trailing dot'],
    ['a@.example.com', 'a leading dot in the domain'],
    ['a@ex_ample.com', 'an underscore in the domain'],
    ['a@[192.0.2.1]', 'an address literal'],
    [`a@${'d'.repeat(64)}.com`, 'a 64-character label'],
  ])('rejects %s (%s)', (email) => {
    expect(isValidEmail(email)).toBe(false);
  });
});

describe('ISO 8601 calendar dates and ages', () => {
  it('parses a real date into its parts', () => {
    expect(parseIsoDate('2024-06-15')).toEqual({ year: 2024, month: 6, day: 15 });
  });

  it('accepts 29 February in a leap year (2024, and 2000 as a century divisible by 400)', () => {
    expect(parseIsoDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29 });
    expect(parseIsoDate('2000-02-29')).toEqual({ year: 2000, month: 2, day: 29 });
  });

  it('rejects 29 February in a common year (2023, and 1900 as a century not divisible by 400)', () => {
    expect(parseIsoDate('2023-02-29')).toBeNull();
    expect(parseIsoDate('1900-02-29')).toBeNull();
  });

  it.each([
    ['2024-04-31', 'day 31 in a 30-day month'],
    ['2024-13-01', 'month 13'],
    ['2024-00-10', 'month 00'],
    ['2024-01-00', 'day 00'],
    ['2024-01-32', 'day 32'],
    ['2024-1-01', 'a one-digit month'],
    ['2024/01/01', 'slashes'],
    ['20240101', 'the basic format'],
    ['2024-01-01T00:00:00Z', 'a time part'],
    [' 2024-01-01', 'leading whitespace'],
    ['2024-0a-01', 'a letter'],
    ['', 'empty'],
  ])('rejects %s (%s)', (s) => {
    expect(parseIsoDate(s)).toBeNull();
  });

  it('knows the Gregorian leap years and month lengths', () => {
    expect([1900, 2000, 2023, 2024].map(isLeapYear)).toEqual([false, true, false, true]);
    expect(daysInMonth(2024, 2)).toBe(29);
    expect(daysInMonth(2023, 2)).toBe(28);
    expect(daysInMonth(2023, 4)).toBe(30);
    expect(daysInMonth(2023, 12)).toBe(31);
    expect(daysInMonth(2023, 13)).toBe(0);
    expect(isCalendarDate(2023, 2, 28)).toBe(true);
    expect(isCalendarDate(2023, 2, 29)).toBe(false);
  });

  it('counts days since 1970-01-01, before and after the epoch', () => {
    expect(isoDateToDayNumber('1970-01-01')).toBe(0);
    expect(isoDateToDayNumber('1970-01-02')).toBe(1);
    expect(isoDateToDayNumber('1969-12-31')).toBe(-1);
    expect(isoDateToDayNumber('2000-03-01')).toBe(11_017);
    expect(isoDateToDayNumber('2024-02-29')).toBe(19_782);
    expect(isoDateToDayNumber('9999-12-31')).toBe(2_932_896);
  });

  it('counts days exactly for years 0–99, which Date.UTC would map to the 1900s', () => {
    expect(isoDateToDayNumber('0050-01-01')).toBe(-701_265);
    expect(calendarDateToDayNumber(50, 1, 1)).toBe(-701_265);
  });

  it('agrees with Date for every day of a leap year', () => {
    for (let day = 0; day < 366; day++) {
      const date = new Date(Date.UTC(2024, 0, 1 + day));
      const iso = date.toISOString().slice(0, 10);
      expect(isoDateToDayNumber(iso)).toBe(utcDayNumber(date));
    }
  });

  it('returns null as the day number of an invalid date', () => {
    expect(isoDateToDayNumber('2023-02-29')).toBeNull();
  });

  it('counts whole years of age, a year older on the birthday and not the day before', () => {
    expect(ageInYears('2008-11-28', today)).toBe(18);
    expect(ageInYears('2008-11-29', today)).toBe(17);
    expect(ageInYears('2008-12-01', today)).toBe(17);
    expect(ageInYears('1906-01-01', today)).toBe(120);
  });

  it('ages someone born on 29 February on 1 March in a common year', () => {
    expect(ageInYears('2004-02-29', new Date('2023-02-28T12:00:00Z'))).toBe(18);
    expect(ageInYears('2004-02-29', new Date('2023-03-01T12:00:00Z'))).toBe(19);
    expect(ageInYears('2004-02-29', new Date('2024-02-29T12:00:00Z'))).toBe(20);
  });

  it('uses the UTC calendar day of today', () => {
    expect(ageInYears('2008-11-28', new Date('2026-11-27T23:59:59Z'))).toBe(17);
    expect(ageInYears('2008-11-28', new Date('2026-11-28T00:00:00Z'))).toBe(18);
  });

  it('returns NaN as the age for an invalid date of birth', () => {
    expect(ageInYears('2023-02-29', today)).toBeNaN();
    expect(ageInYears('28/11/2008', today)).toBeNaN();
  });
});

describe('ISO 4217 currency codes', () => {
  it.each(['USD', 'CNY', 'EUR', 'GBP', 'JPY', 'CHF', 'XCG', 'ZWG', 'SLE', 'VED', 'XAD', 'XAU', 'CHE'])('accepts %s', (code) => {
    expect(isIso4217(code)).toBe(true);
  });

  it.each([
    ['BGN', 'withdrawn when Bulgaria adopted the euro'],
    ['ANG', 'replaced by XCG'],
    ['ZWL', 'replaced by ZWG'],
    ['SLL', 'replaced by SLE'],
    ['CUC', 'withdrawn'],
    ['HRK', 'withdrawn when Croatia adopted the euro'],
    ['XYZ', 'never assigned'],
  ])('rejects %s (%s)', (code) => {
    expect(isIso4217(code)).toBe(false);
  });

  it('rejects lower case, two letters and four letters', () => {
    expect(isIso4217('usd')).toBe(false);
    expect(isIso4217('US')).toBe(false);
    expect(isIso4217('USDX')).toBe(false);
  });
});

describe('ISO 3166-1 alpha-2 country codes', () => {
  it.each(['US', 'CN', 'GB', 'DE', 'AX', 'SS', 'BQ', 'CW', 'AQ'])('accepts %s', (code) => {
    expect(isIso3166Alpha2(code)).toBe(true);
  });

  it.each([
    ['UK', 'exceptionally reserved, not assigned'],
    ['EU', 'exceptionally reserved, not assigned'],
    ['XK', 'user-assigned'],
    ['AN', 'withdrawn'],
    ['QQ', 'never assigned'],
  ])('rejects %s (%s)', (code) => {
    expect(isIso3166Alpha2(code)).toBe(false);
  });

  it('rejects lower case and alpha-3 codes', () => {
    expect(isIso3166Alpha2('us')).toBe(false);
    expect(isIso3166Alpha2('USA')).toBe(false);
  });
});
