import type { Rule } from '../release/rules.js';

/** The configuration after loading: defaults applied, paths resolved, deep-frozen. Mirrors schemas/config.schema.json. */
export type RecordKind = 'placement' | 'recall' | 'update';
export type SourceFormat = 'csv' | 'pipe' | 'ndjson';

export interface VersionedKeyFile {
  readonly version: number;
  readonly file: string;
}

export interface SourceConfig {
  readonly displayName: string;
  readonly sector: 'bank' | 'hospital' | 'government' | 'utility' | 'telecom' | 'other';
  readonly allowedKinds: readonly RecordKind[];
  readonly format: SourceFormat;
  readonly mapping: Readonly<Record<string, string>>;
  readonly pgpPublicKeyFiles: readonly string[];
  readonly requireSignature: boolean;
  readonly requireTrailer: boolean;
  /** SHA-256 (hex) of each bearer key the source may use on the API. */
  readonly apiKeySha256: readonly string[];
  readonly jwkPublicKeyFiles: readonly string[];
  readonly sftp?: SftpSourceConfig;
}

export interface SftpSourceConfig {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly privateKeyFile: string;
  /** `SHA256:<base64>` as `ssh-keygen -lf` prints it. */
  readonly hostKeySha256: string;
  readonly inbound: ReadonlyArray<{ readonly dir: string; readonly kind: RecordKind }>;
  readonly processedDir: string;
  readonly rejectedDir: string;
  readonly ackDir: string;
  readonly filePattern: string;
  readonly readiness: 'settle' | 'marker';
  readonly settleMs: number;
  readonly pollIntervalMs: number;
  readonly callTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly maxBackoffMs: number;
  readonly downloadConcurrency: number;
}

export interface ApiConfig {
  readonly host: string;
  readonly port: number;
  readonly tlsCertFile: string | null;
  readonly tlsKeyFile: string | null;
  readonly maxUploadBytes: number;
  readonly syncMaxBytes: number;
  readonly maxJoseBytes: number;
  readonly maxInflatedBytes: number;
  readonly clockSkewSeconds: number;
  readonly rateLimitPerMinute: number;
  readonly idempotencyTtlHours: number;
}

export type FieldMode = 'token' | 'masked' | 'verify' | 'reveal' | 'value';

export interface RecipientConfig {
  readonly displayName: string;
  readonly apiKeySha256: readonly string[];
  /** Sources whose accounts it reads; null: every source. */
  readonly sources: readonly string[] | null;
  /** Purpose → field → how it is released. */
  readonly grants: Readonly<Record<string, Readonly<Record<string, FieldMode>>>>;
}

export interface ReleaseConfig {
  /** null: the shipped defaults. */
  readonly rules: readonly Rule[] | null;
  readonly recallAckHours: number;
  readonly verifyAttemptsPerSubjectPerHour: number;
  readonly revealsPerMinute: number;
  readonly feedMaxLimit: number;
  readonly requestsPerMinute: number;
}

export interface OfficerConfig {
  readonly displayName: string;
  readonly passwordHashFile: string;
  readonly apiKeySha256: readonly string[];
}

export interface RetentionConfig {
  readonly spoolDays: number;
  readonly rejectedRecordsDays: number;
  readonly recalledAccountsDays: number;
  readonly intervalHours: number;
}

export interface Limits {
  readonly maxFileBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxRecordBytes: number;
  readonly maxRecordsPerFile: number;
  readonly stagingBatchRecords: number;
  readonly prepareOnWorker: boolean;
  readonly maxAckErrors: number;
  readonly recoveryIntervalMs: number;
  readonly leaseTtlMs: number;
  readonly decryptReadChunkBytes: number;
  readonly subjectKeyCacheEntries: number;
}

export interface Config {
  readonly dataDir: string;
  readonly storage: {
    readonly kind: 'sqlite' | 'postgres';
    /** PostgreSQL: from the config, else DATABASE_URL (resolved by the loader). */
    readonly url: string | null;
    readonly schema: string;
    readonly poolSize: number;
    readonly statementTimeoutMs: number;
    readonly idleInTransactionTimeoutMs: number;
    readonly sqliteFile: string;
    readonly busyTimeoutMs: number;
  };
  readonly api: ApiConfig;
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  readonly keys: {
    readonly pgpPrivateKeyFiles: readonly string[];
    readonly pgpPassphraseFile: string | null;
    readonly jwksFile: string;
    readonly tokenKeys: readonly VersionedKeyFile[];
    readonly vaultKeys: readonly VersionedKeyFile[];
  };
  readonly limits: Limits;
  readonly minimisation: { readonly keepNotes: boolean; readonly dropFields: readonly string[] };
  readonly sources: Readonly<Record<string, SourceConfig>>;
  readonly recipients: Readonly<Record<string, RecipientConfig>>;
  readonly release: ReleaseConfig;
  readonly officers: Readonly<Record<string, OfficerConfig>>;
  readonly audit: { readonly checkpointIntervalSeconds: number };
  readonly retention: RetentionConfig;
}
