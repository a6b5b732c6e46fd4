import { describe, expect, it } from 'vitest';
import {
  ageInYears, isIso3166Alpha2, isIso4217, isValidAbaRouting, isValidBankAccountNumber, isValidCardNumber, isValidCnResidentId,
  isValidE164, isValidEmail, isValidGbNino, isValidIban, isValidSsn, luhnValid, normaliseCardNumber, normaliseIban, normaliseSsn, parseIsoDate,
} from '../../src/validate/identifiers/index.js';

const today = new Date('2026-11-28T00:00:00Z');

describe('card numbers (Luhn)', () => {
  it.each(['4111111111111111', '5555555555554444', '378282246310005', '4111 1111 1111 1111', '6011-1111-1111-1117'])('accepts %s', (pan) => {
    expect(isValidCardNumber(pan)).toBe(true);
  });
  it.each([['4111111111111112', 'bad check digit'], ['41111111111', '11 digits'], ['41111111111111111111', '20 digits'], ['4111a11111111111', 'a letter']])('rejects %s (%s)', (pan) => {
    expect(isValidCardNumber(pan)).toBe(false);
  });
  it('normalises away separators', () => expect(normaliseCardNumber('4111 1111-1111 1111')).toBe('4111111111111111'));
  it('computes Luhn on digits only', () => expect(luhnValid('79927398713')).toBe(true));
});

describe('IBAN (ISO 13616, mod-97)', () => {
  it.each(['GB82WEST12345698765432', 'DE89370400440532013000', 'FR1420041010050500013M02606', 'NL91ABNA0417164300', 'gb82 west 1234 5698 7654 32'])('accepts %s', (iban) => {
    expect(isValidIban(iban)).toBe(true);
  });
  it('rejects a wrong check digit', () => expect(isValidIban('GB82WEST12345698765431')).toBe(false));
  it('rejects an IBAN whose length is wrong for its country', () => expect(isValidIban('DE8937040044053201300')).toBe(false));
  it('rejects an unknown country', () => expect(isValidIban('QQ82WEST12345698765432')).toBe(false));
  it('normalises spaces and case', () => expect(normaliseIban('gb82 west 1234 5698 7654 32')).toBe('GB82WEST12345698765432'));
});

describe('US SSN', () => {
  it.each(['123-45-6789', '123456789', '665-01-0001'])('accepts %s', (ssn) => expect(isValidSsn(ssn)).toBe(true));
  it.each([['000-12-3456', 'area 000'], ['666-12-3456', 'area 666'], ['900-12-3456', 'area 9xx'], ['123-00-4567', 'group 00'], ['123-45-0000', 'serial 0000'], ['12-345-6789', 'dashes misplaced'], ['1234-56789', 'one dash'], ['12345678', '8 digits']])('rejects %s (%s)', (ssn) => {
    expect(isValidSsn(ssn)).toBe(false);
  });
  it('normalises to 9 digits', () => expect(normaliseSsn('123-45-6789')).toBe('123456789'));
});

describe('China resident ID (GB 11643, ISO 7064 MOD 11-2)', () => {
  it('accepts a valid number, with an upper or lower case X check', () => {
    expect(isValidCnResidentId('11010519491231002X', today)).toBe(true);
    expect(isValidCnResidentId('11010519491231002x', today)).toBe(true);
  });
  it('rejects a wrong check character', () => expect(isValidCnResidentId('110105194912310021', today)).toBe(false));
  it('rejects an impossible birth date even with a correct check character', () => {
    // 1949-02-31 with its own correct check character, so that only the date is wrong.
    const body = '11010519490231002';
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const check = '10X98765432'[[...body].reduce((s, d, i) => s + Number(d) * weights[i]!, 0) % 11]!;
    expect(isValidCnResidentId(body + check, today)).toBe(false);
  });
  it('rejects a birth date in the future', () => expect(isValidCnResidentId('110105209912310024', today)).toBe(false));
  it('rejects 17 characters', () => expect(isValidCnResidentId('11010519491231002', today)).toBe(false));
});

describe('UK National Insurance number', () => {
  it.each(['AB123456C', 'ab 12 34 56 c', 'JG103759A'])('accepts %s', (n) => expect(isValidGbNino(n)).toBe(true));
  it.each([['QQ123456C', 'Q prefix'], ['BG123456A', 'unused prefix BG'], ['AO123456A', 'second letter O'], ['AB123456E', 'suffix E'], ['DA123456A', 'first letter D'], ['AB12345C', '5 digits']])('rejects %s (%s)', (n) => {
    expect(isValidGbNino(n)).toBe(false);
  });
});

describe('ABA routing numbers and bank account numbers', () => {
  it.each(['011000015', '021000021', '121000358'])('accepts routing %s', (r) => expect(isValidAbaRouting(r)).toBe(true));
  it.each(['011000016', '12100035', '02100002A'])('rejects routing %s', (r) => expect(isValidAbaRouting(r)).toBe(false));
  it('accepts 4 to 17 digits as an account number, nothing else', () => {
    expect(isValidBankAccountNumber('1234')).toBe(true);
    expect(isValidBankAccountNumber('12345678901234567')).toBe(true);
    expect(isValidBankAccountNumber('123')).toBe(false);
    expect(isValidBankAccountNumber('123456789012345678')).toBe(false);
    expect(isValidBankAccountNumber('12-34')).toBe(false);
  });
});

describe('phone (E.164) and e-mail', () => {
  it.each(['+14155552671', '+8613800138000', '+442071838750'])('accepts phone %s', (p) => expect(isValidE164(p)).toBe(true));
  it.each([['+0123456789', 'leading 0'], ['14155552671', 'no +'], ['+1234567', '7 digits'], ['+1234567890123456', '16 digits'], ['+1 415 555 2671', 'spaces']])('rejects phone %s (%s)', (p) => {
    expect(isValidE164(p)).toBe(false);
  });
  it.each(['a@example.com', 'first.last+tag@sub.example.co.uk', "o'neil@example.org"])('accepts e-mail %s', (e) => expect(isValidEmail(e)).toBe(true));
  it.each(['plainaddress', '@example.com', 'a@b', 'a..b@example.com', 'a@-example.com', `${'x'.repeat(65)}@example.com`])('rejects e-mail %s', (e) => {
    expect(isValidEmail(e)).toBe(false);
  });
});

describe('dates, ages, currencies and countries', () => {
  it('parses real calendar dates only, leap years included', () => {
    expect(parseIsoDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29 });
    expect(parseIsoDate('2023-02-29')).toBeNull();
    expect(parseIsoDate('1900-02-29')).toBeNull();
    expect(parseIsoDate('2000-02-29')).not.toBeNull();
    expect(parseIsoDate('2024-13-01')).toBeNull();
    expect(parseIsoDate('2024-1-01')).toBeNull();
  });
  it('counts whole years of age, not yet a year older the day before a birthday', () => {
    expect(ageInYears('2008-11-28', today)).toBe(18);
    expect(ageInYears('2008-11-29', today)).toBe(17);
  });
  it('knows ISO 4217 and ISO 3166-1 alpha-2 codes', () => {
    for (const c of ['USD', 'CNY', 'EUR', 'GBP', 'JPY']) expect(isIso4217(c)).toBe(true);
    for (const c of ['XYZ', 'usd', 'US']) expect(isIso4217(c)).toBe(false);
    for (const c of ['US', 'CN', 'GB', 'DE']) expect(isIso3166Alpha2(c)).toBe(true);
    for (const c of ['QQ', 'UK', 'us']) expect(isIso3166Alpha2(c)).toBe(false);
  });
});
