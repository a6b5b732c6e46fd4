import { GatewayError } from '../errors/gateway-error.js';
import { formatMinorUnits, MoneySum, parseMinorUnits } from '../lib/decimal.js';

/**
 * Control totals cover every data row as sent, rejected or not (FORMATS.md): they prove the file
 * is the one the creditor meant to send, not that its records are good.
 */
export interface ControlTotals {
  dataRows: number;
  balance: MoneySum;
  /** Rows whose balance was not a decimal: the sum cannot then match a trailer. */
  balanceUnreadable: number;
  trailer: { recordCount: number; totalBalanceMinor: bigint | null } | null;
}

export function newControlTotals(): ControlTotals {
  return { dataRows: 0, balance: new MoneySum(), balanceUnreadable: 0, trailer: null };
}

/** A row without a balance adds 0 (recall and update rows often have none). */
export function addDataRow(totals: ControlTotals, balance: unknown): void {
  totals.dataRows++;
  if (balance === undefined) return;
  if (typeof balance !== 'string' || !totals.balance.add(balance)) totals.balanceUnreadable++;
}

/** @throws GatewayError FILE_TRAILER_INVALID when the count is not a whole number or the sum not a decimal. */
export function setTrailer(totals: ControlTotals, recordCount: string | undefined, totalBalance: string | undefined): void {
  if (recordCount === undefined || !/^\d{1,12}$/.test(recordCount.trim())) throw new GatewayError('FILE_TRAILER_INVALID', { reason: 'record count' });
  let totalBalanceMinor: bigint | null = null;
  if (totalBalance !== undefined && totalBalance.trim() !== '') {
    totalBalanceMinor = parseMinorUnits(totalBalance.trim());
    if (totalBalanceMinor === null) throw new GatewayError('FILE_TRAILER_INVALID', { reason: 'balance total' });
  }
  totals.trailer = { recordCount: Number(recordCount.trim()), totalBalanceMinor };
}

export interface ControlTotalsReport {
  record_count: number;
  total_balance: string | null;
  matched: boolean | null;
}

/**
 * The ack's `control_totals`. A trailer that disagrees rejects the whole file.
 * @throws GatewayError FILE_TRAILER_MISSING, FILE_CONTROL_TOTAL_MISMATCH
 */
export function checkControlTotals(totals: ControlTotals, options: { requireTrailer: boolean; sumsBalance: boolean }): ControlTotalsReport {
  const report: ControlTotalsReport = {
    record_count: totals.dataRows,
    total_balance: options.sumsBalance ? formatMinorUnits(totals.balance.minorUnits) : null,
    matched: null,
  };
  const { trailer } = totals;
  if (trailer === null) {
    if (options.requireTrailer) throw new GatewayError('FILE_TRAILER_MISSING');
    return report;
  }
  const countOk = trailer.recordCount === totals.dataRows;
  const balanceOk = trailer.totalBalanceMinor === null || (totals.balanceUnreadable === 0 && trailer.totalBalanceMinor === totals.balance.minorUnits);
  if (!countOk || !balanceOk) {
    throw new GatewayError('FILE_CONTROL_TOTAL_MISMATCH', { recordCountMatched: countOk, balanceMatched: balanceOk, dataRows: totals.dataRows });
  }
  return { ...report, matched: true };
}
