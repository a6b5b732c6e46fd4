// Identifier validators: pure functions over strings, no Veilgate types. Each returns a boolean (or a parsed
// value / null) and never throws; none of them reports the value it was given.
export { luhnValid, isValidCardNumber, normaliseCardNumber } from './luhn.js';
export { isValidIban, normaliseIban } from './iban.js';
export { isValidSsn, normaliseSsn } from './ssn.js';
export { isValidCnResidentId, normaliseCnResidentId } from './cn-resident-id.js';
export { isValidGbNino, normaliseGbNino } from './gb-nino.js';
export { isValidAbaRouting } from './aba-routing.js';
export { isValidBankAccountNumber } from './bank-account.js';
export { isValidE164 } from './e164.js';
export { isValidEmail } from './email.js';
export {
  type IsoDate, parseIsoDate, isoDateToDayNumber, ageInYears,
  isLeapYear, daysInMonth, isCalendarDate, calendarDateToDayNumber, utcDayNumber,
} from './iso-date.js';
export { isIso4217 } from './currency.js';
export { isIso3166Alpha2 } from './country.js';
