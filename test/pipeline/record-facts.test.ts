import { describe, expect, it } from 'vitest';
import { recordFacts } from '../../src/pipeline/record-facts.js';

describe('record facts staged for the commit', () => {
  it('takes from a placement only the subject state that is not the default, in record order', () => {
    const facts = recordFacts('placement', { delinquency_date: '2025-01-15', disputed: 'Y', cease_communication: 'N', consent_sms: 'unknown', consent_email: 'denied', debt_type: 'medical' });
    expect(facts).toEqual({ delinquencyDate: '2025-01-15', updateType: null, subjectState: '{"disputed":"Y","consent_email":"denied"}' });
    expect(recordFacts('placement', { delinquency_date: '2025-01-15', cease_communication: 'N' }).subjectState).toBeNull();
  });

  it('takes from an update exactly what it sets, a lifted restriction included', () => {
    expect(recordFacts('update', { update_type: 'restriction', effective_date: '2026-11-23', cease_communication: 'N' }))
      .toEqual({ delinquencyDate: null, updateType: 'restriction', subjectState: '{"cease_communication":"N"}' });
    expect(recordFacts('update', { update_type: 'payment', amount: '10.00' })).toEqual({ delinquencyDate: null, updateType: 'payment', subjectState: null });
  });

  it('takes nothing from a recall', () => {
    expect(recordFacts('recall', { recall_reason: 'paid_to_creditor', disputed: 'Y' })).toEqual({ delinquencyDate: null, updateType: null, subjectState: null });
  });
});
