// ISO 4217 List One ("current currency & funds"), as published by the maintenance agency (SIX) on 2026-01-01,
// i.e. through Amendment 180 (BGN withdrawn: Bulgaria adopted the euro). Recent changes, for the next update:
// ANG → XCG (2025), ZWL → ZWG (2024), SLL → SLE, CUC withdrawn, XAD added (2025).
// The list also holds fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), precious metals (XAG, XAU,
// XPD, XPT), units of account (XBA–XBD, XDR, XSU, XUA, XAD), XTS (testing) and XXX (no currency).
const activeCurrencyCodes = new Set(
  (
    'AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF ' +
    'CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP ' +
    'GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT ' +
    'LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR ' +
    'NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN ' +
    'SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAD ' +
    'XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG'
  ).split(' '),
);

/** True for an active ISO 4217 alphabetic code (List One), upper case as published: `USD` yes, `usd` no. */
export function isIso4217(s: string): boolean {
  return activeCurrencyCodes.has(s);
}
