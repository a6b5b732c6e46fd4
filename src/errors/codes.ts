/**
 * The error registry. Append-only: a published code is never renamed, reused or given a new meaning,
 * because creditors' systems and runbooks match on it. Messages are for a creditor's IT person and
 * never contain a value from a file or request.
 *
 * Two families:
 * - file and request codes (`STAGE_WHAT`): thrown as GatewayError; the file ends `rejected`
 *   or the request is answered with `status`;
 * - record codes: returned as `Rejection` values in an acknowledgement's `errors`/`warnings`.
 */
export const fileCodes = {
  // Usage and configuration
  CONFIG_INVALID: { status: 500, message: 'The configuration is invalid' },
  USAGE_INVALID: { status: 400, message: 'The command line or request is invalid' },
  SOURCE_UNKNOWN: { status: 404, message: 'The source is not configured' },
  KIND_NOT_ALLOWED: { status: 403, message: 'The source is not allowed to send this kind of file' },
  KEY_UNAVAILABLE: { status: 500, message: 'A configured key could not be read' },
  KEY_EXISTS: { status: 409, message: 'A key file already exists there; keys are never overwritten' },

  // Spool
  SPOOL_TOO_LARGE: { status: 413, message: 'The file exceeds the configured size limit' },
  SPOOL_EMPTY: { status: 422, message: 'The file is empty' },
  SPOOL_MISSING: { status: 500, message: 'The spooled copy of the file is missing' },

  // Open (OpenPGP)
  OPEN_NOT_OPENPGP: { status: 422, message: 'The file is not an OpenPGP message' },
  OPEN_DECRYPT_FAILED: { status: 422, message: 'The file could not be decrypted with the gateway key; encrypt it to the gateway public key' },
  OPEN_INTEGRITY_FAILED: { status: 422, message: 'The encrypted file was modified or truncated in transit' },
  OPEN_SIGNATURE_MISSING: { status: 422, message: 'The file is not signed; sign it with the source registered key' },
  OPEN_SIGNATURE_INVALID: { status: 422, message: 'The file signature does not verify against the source registered key' },
  OPEN_DECOMPRESSED_TOO_LARGE: { status: 413, message: 'The decompressed file exceeds the configured size limit' },

  // Parse
  PARSE_INVALID_UTF8: { status: 422, message: 'The file is not valid UTF-8 text' },
  PARSE_RECORD_TOO_LARGE: { status: 413, message: 'A record exceeds the configured maximum record size' },
  PARSE_MALFORMED: { status: 422, message: 'The file is not well-formed for its declared format' },
  PARSE_HEADER_MISSING: { status: 422, message: 'The file has no header row with column names' },
  PARSE_HEADER_DUPLICATE: { status: 422, message: 'The header names the same column twice' },
  PARSE_TOO_MANY_RECORDS: { status: 413, message: 'The file has more records than the configured limit' },

  // File-level validation
  FILE_CONTROL_TOTAL_MISMATCH: { status: 422, message: 'The trailer record count or balance total does not match the data rows' },
  FILE_TRAILER_MISSING: { status: 422, message: 'The source requires a trailer row and the file has none' },
  FILE_TRAILER_INVALID: { status: 422, message: 'The trailer row is malformed or is not the last row' },
  FILE_NO_RECORDS: { status: 422, message: 'The file holds no data records' },

  // Pipeline
  PIPELINE_LEASE_LOST: { status: 409, message: 'Another worker took over this file; it will be finished there' },
  PIPELINE_BUSY: { status: 409, message: 'The file is being processed by another worker' },

  // Audit
  AUDIT_CHAIN_BROKEN: { status: 500, message: 'The audit chain does not verify' },

  // Storage
  STORE_SCHEMA_TOO_NEW: { status: 500, message: 'The database schema is newer than this version of the gateway' },
  STORE_UNAVAILABLE: { status: 503, message: 'The database is unavailable' },

  // JOSE (POST /v1/records): every failure is one of these, and none says more than its code.
  JOSE_MALFORMED: { status: 400, message: 'The body is not a compact JWE' },
  JOSE_TOO_LARGE: { status: 413, message: 'The JWE or its inflated payload exceeds the configured size limit' },
  JOSE_ALG_NOT_ALLOWED: { status: 400, message: 'The JWE or JWS uses an algorithm the gateway does not accept' },
  JOSE_CRIT_UNSUPPORTED: { status: 400, message: 'The JOSE header marks as critical an extension the gateway does not support' },
  JOSE_DECRYPT_FAILED: { status: 400, message: 'The JWE could not be decrypted with the gateway key' },
  JOSE_SIGNATURE_INVALID: { status: 401, message: 'The JWS does not verify against the source registered signing keys' },
  JOSE_EXPIRED: { status: 401, message: 'The JWS is expired or not yet valid (iat/exp outside the allowed clock skew)' },
  JOSE_PAYLOAD_INVALID: { status: 400, message: 'The signed payload is not {"kind": ..., "records": [...]}' },

  // SFTP intake
  SFTP_HOST_KEY_MISMATCH: { status: 502, message: 'The SFTP server presented a host key other than the pinned one; connection refused' },
  SFTP_TIMEOUT: { status: 504, message: 'An SFTP call did not finish before its deadline' },
  SFTP_UNAVAILABLE: { status: 502, message: 'The SFTP server could not be reached or refused the login' },
  SFTP_SIZE_MISMATCH: { status: 502, message: 'The downloaded size differs from the size the server listed' },
  SFTP_LEASE_LOST: { status: 409, message: 'Another replica took over polling this SFTP source; it resumes the delivery' },

  // HTTP API
  AUTH_REQUIRED: { status: 401, message: 'A valid bearer key is required' },
  AUTH_FORBIDDEN: { status: 403, message: 'This caller may not use this route' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; retry after the time in Retry-After' },
  IDEMPOTENCY_KEY_REQUIRED: { status: 400, message: 'An Idempotency-Key header (8 to 128 characters) is required' },
  IDEMPOTENCY_CONFLICT: { status: 409, message: 'This Idempotency-Key was already used with a different body' },
  REQUEST_TOO_LARGE: { status: 413, message: 'The request body exceeds the configured size limit' },
  NOT_FOUND: { status: 404, message: 'No such resource' },

  // Release (recipients)
  RELEASE_PURPOSE_REQUIRED: { status: 400, message: 'Declare the purpose of the read in the X-Veilgate-Purpose header' },
  RELEASE_PURPOSE_NOT_GRANTED: { status: 403, message: 'This recipient is not granted that purpose' },
  RELEASE_CURSOR_INVALID: { status: 400, message: 'The feed cursor is not one this gateway issued' },
  RESTRICTION_INVALID: { status: 400, message: 'Report restrictions as Y and consents as granted or denied, by their FORMATS.md names' },
  RESTRICTION_LIFT_NOT_ALLOWED: { status: 403, message: 'Recipients may add restrictions; lifting one takes an update file from the creditor' },

  INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export const recordCodes = {
  FIELD_REQUIRED: 'the field is required',
  FIELD_TYPE: 'the field has the wrong type; values are strings (money as a decimal string)',
  FIELD_FORMAT: 'the field is not in the required format',
  FIELD_ENUM: 'the field is not one of the allowed values',
  FIELD_TOO_LONG: 'the field is longer than allowed',
  FIELD_CONTROL_CHARACTER: 'the field contains a control character (U+0000 to U+001F other than tab and line breaks, or U+007F): the data is corrupt or binary',
  FIELD_NOT_ALLOWED: 'the field is not allowed for this record type',
  DATE_INVALID: 'not a valid ISO 8601 date (YYYY-MM-DD)',
  DATE_IN_FUTURE: 'the date is in the future',
  DATE_ORDER: 'the date is earlier than a date it must follow',
  DOB_OUT_OF_RANGE: 'the date of birth gives an age outside 16 to 120 years',
  MONEY_INVALID: 'not a decimal amount with at most 2 decimal places',
  MONEY_NEGATIVE: 'the amount must not be negative',
  CURRENCY_INVALID: 'not an ISO 4217 currency code',
  COUNTRY_INVALID: 'not an ISO 3166-1 alpha-2 country code',
  SSN_INVALID: 'not a valid US SSN',
  CN_RIC_INVALID: 'not a valid China resident identity card number',
  NINO_INVALID: 'not a valid UK National Insurance number',
  NATIONAL_ID_TYPE_REQUIRED: 'national_id_type is required when national_id is given',
  CARD_NUMBER_INVALID: 'not a valid card number (12 to 19 digits, Luhn check)',
  IBAN_INVALID: 'not a valid IBAN (country length or mod-97 check)',
  ROUTING_NUMBER_INVALID: 'not a valid ABA routing number (9 digits, checksum)',
  BANK_ACCOUNT_INVALID: 'not a valid bank account number (digits only)',
  PHONE_INVALID: 'not an E.164 phone number (+ then 8 to 15 digits)',
  EMAIL_INVALID: 'not a valid e-mail address',
  ITEMIZATION_MISMATCH: 'itemization amount + interest + fees - payments - credits does not equal balance',
  MEDICAL_FIELD_ON_NON_MEDICAL: 'medical fields are only allowed on medical debt',
  TAX_FIELD_ON_NON_TAX: 'tax fields are only allowed on tax debt',
  ACCOUNT_REF_DUPLICATE: 'the account_ref appears more than once in this file',
  RECALL_UNKNOWN_ACCOUNT: 'no placed account of this source has this account_ref',
  UPDATE_UNKNOWN_ACCOUNT: 'no placed account of this source has this account_ref',
  UPDATE_FIELDS_MISSING: 'the update carries no field for its update_type',
  DELINQUENCY_DATE_CHANGED: 'delinquency_date (DOFD) must not change from the placed value',
  RECORD_MALFORMED: 'the record is not well-formed (wrong column count or not a JSON object)',
  ACCOUNT_RECALLED: 'the account has been recalled; updates are not accepted',
  // warnings: accepted, but the creditor should look
  WARN_ACCOUNT_REF_LOOKS_LIKE_PII: 'account_ref looks like a card number or SSN; use an opaque reference',
  WARN_DEBTOR_MINOR: 'the date of birth makes the debtor a minor',
  WARN_DIAGNOSIS_IN_FREE_TEXT: 'a free-text field looks like it holds a diagnosis code; it was dropped',
} as const satisfies Record<string, string>;

export type FileErrorCode = keyof typeof fileCodes;
export type RecordCode = keyof typeof recordCodes;
