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
}

export interface RecipientConfig {
  readonly displayName: string;
}

export interface Limits {
  readonly maxFileBytes: number;
  readonly maxDecompressedBytes: number;
  readonly maxRecordBytes: number;
  readonly maxRecordsPerFile: number;
  readonly stagingBatchRecords: number;
  readonly maxAckErrors: number;
  readonly leaseTtlMs: number;
  readonly decryptReadChunkBytes: number;
}

export interface Config {
  readonly dataDir: string;
  readonly storage: { readonly kind: 'sqlite'; readonly sqliteFile: string; readonly busyTimeoutMs: number };
  readonly log: { readonly level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' };
  readonly keys: {
    readonly pgpPrivateKeyFiles: readonly string[];
    readonly pgpPassphraseFile: string | null;
    readonly tokenKeys: readonly VersionedKeyFile[];
    readonly vaultKeys: readonly VersionedKeyFile[];
  };
  readonly limits: Limits;
  readonly minimisation: { readonly keepNotes: boolean; readonly dropFields: readonly string[] };
  readonly sources: Readonly<Record<string, SourceConfig>>;
  readonly recipients: Readonly<Record<string, RecipientConfig>>;
}
