import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { createAjv } from '../../src/lib/ajv.js';
import { readSchema } from '../../src/lib/paths.js';

/**
 * The deploy files (deploy/) are checked against the code they deploy: the port is the schema's
 * api.port default, probe paths are real routes, every VEILGATE_* variable is a real config key, every
 * key file the configuration names is mounted read-only, and no secret value is in the repository.
 */

const root = resolve(import.meta.dirname, '..', '..');
const deployDir = join(root, 'deploy');
const read = (...parts: string[]) => readFileSync(join(root, ...parts), 'utf8');

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
function obj(x: unknown, what = 'value'): Obj {
  if (!isObj(x)) throw new Error(`${what} is not an object`);
  return x;
}
const arr = (x: unknown): unknown[] => (Array.isArray(x) ? x : []);
const str = (x: unknown): string => (typeof x === 'string' ? x : typeof x === 'number' ? String(x) : '');

// ---- the code's side ----------------------------------------------------------------------------------

const schema = readSchema('config');
const schemaDefs = obj(schema.$defs);
const apiPort = obj(obj(obj(obj(schema.properties).api).properties).port).default as number;
const storageKinds = arr(obj(obj(obj(obj(schema.properties).storage).properties).kind).enum);
/** Routes of src/api/routes/public.ts, read from the source so that a renamed probe fails here. */
const publicRoutes = new Set([...read('src', 'api', 'routes', 'public.ts').matchAll(/router\.get\('([^']+)'/g)].map((m) => m[1]!));

/** Follows a VEILGATE_SECTION__KEY path through the schema (properties, id maps, $ref), like src/config/load.ts. */
function schemaAt(path: string[]): Obj | undefined {
  let node: Obj = schema;
  for (const key of path) {
    if (typeof node.$ref === 'string') node = obj(schemaDefs[node.$ref.replace('#/$defs/', '')]);
    const props = isObj(node.properties) ? node.properties : {};
    if (isObj(props[key])) node = props[key];
    else if (isObj(node.additionalProperties)) node = node.additionalProperties;
    else return undefined;
  }
  return node;
}
const snakeToCamel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const envPath = (name: string) => name.slice('VEILGATE_'.length).split('__').map(snakeToCamel);

/** The loader's environment overlay (src/config/load.ts applyEnv), on a copy. */
function withEnv(raw: Obj, env: Record<string, string>): Obj {
  const copy = structuredClone(raw);
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('VEILGATE_')) continue;
    const path = envPath(name);
    let node = copy;
    for (const key of path.slice(0, -1)) {
      if (node[key] === undefined) node[key] = {};
      node = obj(node[key], key);
    }
    node[path[path.length - 1]!] = value;
  }
  return copy;
}

/**
 * storage.kind=postgres lands with the PostgreSQL store. Until the schema allows it, that one value is
 * set aside (and must be exactly that); everything else is checked as it stands.
 */
function withoutPendingStorage(raw: Obj): Obj {
  const copy = structuredClone(raw);
  const storage = obj(copy.storage, 'storage');
  expect(storage.kind).toBe('postgres');
  if (!storageKinds.includes('postgres')) delete storage.kind;
  return copy;
}

function schemaProblems(raw: Obj): string[] {
  const validate = createAjv({ useDefaults: true, coerceTypes: true, allErrors: true }).compile(schema);
  const copy = structuredClone(raw);
  if (validate(copy)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '(top)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

/** Every file path the configuration points at, with where it is named. */
function configFiles(raw: Obj): Array<{ where: string; file: string }> {
  const out: Array<{ where: string; file: string }> = [];
  const add = (where: string, f: unknown) => void (typeof f === 'string' && out.push({ where, file: f }));
  const keys = obj(raw.keys, 'keys');
  arr(keys.pgpPrivateKeyFiles).forEach((f, i) => add(`keys.pgpPrivateKeyFiles.${i}`, f));
  add('keys.pgpPassphraseFile', keys.pgpPassphraseFile);
  add('keys.jwksFile', keys.jwksFile);
  for (const kind of ['tokenKeys', 'vaultKeys']) arr(keys[kind]).forEach((k, i) => add(`keys.${kind}.${i}`, obj(k).file));
  for (const [id, s] of Object.entries(obj(raw.sources ?? {}))) {
    const source = obj(s);
    arr(source.pgpPublicKeyFiles).forEach((f, i) => add(`sources.${id}.pgpPublicKeyFiles.${i}`, f));
    arr(source.jwkPublicKeyFiles).forEach((f, i) => add(`sources.${id}.jwkPublicKeyFiles.${i}`, f));
    if (isObj(source.sftp)) add(`sources.${id}.sftp.privateKeyFile`, source.sftp.privateKeyFile);
  }
  for (const [id, o] of Object.entries(obj(raw.officers ?? {}))) add(`officers.${id}.passwordHashFile`, obj(o).passwordHashFile);
  const api = obj(raw.api ?? {});
  add('api.tlsCertFile', api.tlsCertFile);
  add('api.tlsKeyFile', api.tlsKeyFile);
  return out;
}

/** The mount that holds a path: the longest mount point it lies under. */
function mountFor<M extends { target: string }>(mounts: M[], file: string): M | undefined {
  return mounts
    .filter((m) => file === m.target || file.startsWith(m.target.endsWith('/') ? m.target : `${m.target}/`))
    .sort((a, b) => b.target.length - a.target.length)[0];
}

// ---- the deploy side ----------------------------------------------------------------------------------

interface Instruction { op: string; args: string }
/** Dockerfile instructions per stage, with continuation lines joined and comments dropped. */
function dockerfileStages(text: string): Array<{ from: string; name: string; instructions: Instruction[] }> {
  const args = new Map<string, string>();
  const stages: Array<{ from: string; name: string; instructions: Instruction[] }> = [];
  const logical = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n').replace(/\\\n/g, ' ').split('\n');
  for (const line of logical) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m === null) continue;
    const op = m[1]!.toUpperCase();
    const rest = m[2]!.trim();
    if (op === 'ARG' && stages.length === 0) {
      const [k, v] = rest.split('=');
      args.set(k!, v ?? '');
    } else if (op === 'FROM') {
      const [image, , name] = rest.replace(/\$\{(\w+)\}/g, (_, k: string) => args.get(k) ?? '').split(/\s+/);
      stages.push({ from: image!, name: name ?? '', instructions: [] });
    } else {
      stages[stages.length - 1]?.instructions.push({ op, args: rest });
    }
  }
  return stages;
}
const dockerfile = read('deploy', 'Dockerfile');
const stages = dockerfileStages(dockerfile);
const runtime = stages[stages.length - 1]!;
const runtimeOps = (op: string) => runtime.instructions.filter((i) => i.op === op).map((i) => i.args);

const composeText = read('deploy', 'docker-compose.yml');
const compose = obj(parseYaml(composeText, { merge: true }), 'compose');
const services = obj(compose.services, 'services');
const gatewayServices = Object.entries(services)
  .filter(([, s]) => isObj(s) && isObj(s.build) && str(s.build.dockerfile) === 'deploy/Dockerfile')
  .map(([name, s]) => ({ name, service: obj(s) }));
interface ComposeMount { source: string; target: string; readOnly: boolean }
function composeMounts(service: Obj): ComposeMount[] {
  return arr(service.volumes).map((v) => {
    const [source, target, mode] = str(v).split(':');
    return { source: source!, target: target!, readOnly: mode === 'ro' };
  });
}
const composeEnv = (service: Obj) => Object.fromEntries(Object.entries(obj(service.environment ?? {})).map(([k, v]) => [k, str(v)]));
const exampleConfig = obj(parseYaml(read('deploy', 'config', 'veilgate.yaml')), 'deploy/config/veilgate.yaml');
const initDemo = read('deploy', 'init-demo.sh');

const k8sDir = join(deployDir, 'k8s');
const k8s = readdirSync(k8sDir)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(k8sDir, f), 'utf8')).map((d) => ({ file: f, doc: d.toJS() as unknown })))
  .filter((d): d is { file: string; doc: Obj } => isObj(d.doc));
const k8sOf = (kind: string) => k8s.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const deployment = k8sOf('Deployment')[0]!;
const podSpec = obj(obj(obj(deployment.spec).template).spec);
const container = obj(arr(podSpec.containers)[0]);
const configMaps = new Map(k8sOf('ConfigMap').map((c) => [str(obj(c.metadata).name), obj(c.data)]));
const k8sConfig = obj(parseYaml(str(configMaps.get('veilgate-config')?.['veilgate.yaml'])), 'ConfigMap veilgate.yaml');
const k8sEnv: Record<string, string> = {
  ...Object.fromEntries(Object.entries(configMaps.get('veilgate-env') ?? {}).map(([k, v]) => [k, str(v)])),
  ...Object.fromEntries(arr(container.env).map((e) => [str(obj(e).name), str(obj(e).value)])),
};
const secretsDoc = read('deploy', 'k8s', 'secrets.yaml');

/** Values for the compose file's ${VAR} interpolations, as deploy/init-demo.sh writes them to .env. */
const demoDotEnv: Record<string, string> = { POSTGRES_PASSWORD: 'not-a-real-password', SFTP_HOST_KEY_SHA256: `SHA256:${'A'.repeat(43)}` };
const interpolate = (s: string) => s.replace(/\$\{(\w+)(?::?[?-][^}]*)?\}/g, (_, k: string) => demoDotEnv[k] ?? `<unset ${k}>`);

// ---- checks ---------------------------------------------------------------------------------------------

describe('deploy/Dockerfile', () => {
  it('builds with npm ci and npm run build, and runs on production dependencies only', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from).toBe('node:20-bookworm-slim');
    const runs = stages.flatMap((s) => s.instructions.filter((i) => i.op === 'RUN').map((i) => ({ stage: s.name, cmd: i.args })));
    expect(runs.some((r) => /npm ci\b/.test(r.cmd) && !r.cmd.includes('--omit=dev'))).toBe(true);
    expect(runs.some((r) => r.cmd.includes('npm run build'))).toBe(true);
    const prod = runs.find((r) => r.cmd.includes('npm ci --omit=dev'));
    expect(prod).toBeDefined();
    // The runtime's node_modules come from that stage, not from the build stage's full install.
    expect(runtimeOps('COPY').filter((c) => c.includes('node_modules'))).toEqual([`--from=${prod!.stage} /app/node_modules ./node_modules`]);
  });

  it('builds the native crypto addon where the production dependencies are installed, and takes it into the runtime', () => {
    // node_modules/@veilgate/native-crypto is a link to native/: without the folder the gateway cannot start.
    const prod = stages.find((st) => st.instructions.some((i) => i.op === 'RUN' && i.args.includes('npm ci --omit=dev')))!;
    const ops = prod.instructions.map((i) => `${i.op} ${i.args}`);
    const copiedAt = ops.findIndex((o) => /^COPY native \.\/native$/.test(o));
    expect(copiedAt).toBeGreaterThanOrEqual(0);
    expect(copiedAt).toBeLessThan(ops.findIndex((o) => o.includes('npm ci --omit=dev')));
    expect(runtimeOps('COPY')).toContain(`--from=${prod.name} /app/native ./native`);
    expect(read('deploy', 'Dockerfile.dockerignore').split('\n')).toContain('native/build');
  });

  it('copies dist/, bin/, schemas/, docs/openapi.json and assets/ into the runtime, and no keys, config or gnupg', () => {
    const copies = runtimeOps('COPY').join('\n');
    for (const part of ['/dist', 'bin', 'schemas', 'docs/openapi.json', 'assets']) expect(copies).toContain(part);
    expect(copies).not.toMatch(/keys-example|\.key\b|\.asc\b|veilgate\.ya?ml|\.local/);
    expect(runtimeOps('RUN').join('\n')).not.toMatch(/gnupg|\bgpg\b/);
    const ignore = read('deploy', 'Dockerfile.dockerignore').split('\n');
    for (const path of ['keys-example', 'deploy/.local', 'deploy/.env']) expect(ignore).toContain(path);
  });

  it('runs as a non-root user with the data dir and /tmp as volumes, for a read-only root filesystem', () => {
    const user = runtimeOps('USER').at(-1) ?? 'root';
    expect(user.split(':')[0]).not.toMatch(/^(root|0)$/);
    const volumes = JSON.parse(runtimeOps('VOLUME').at(-1) ?? '[]') as string[];
    const dataDir = /VEILGATE_DATA_DIR=(\S+)/.exec(runtimeOps('ENV').join(' '))?.[1];
    expect(dataDir).toBe(exampleConfig.dataDir);
    expect(volumes).toEqual(expect.arrayContaining(['/tmp', dataDir]));
  });

  it("exposes api.port's default, probes /healthz on it and enters `node bin/veilgate.js serve`", () => {
    expect(runtimeOps('EXPOSE')).toEqual([String(apiPort)]);
    const healthcheck = runtimeOps('HEALTHCHECK').join(' ');
    const url = /https?:\/\/127\.0\.0\.1:(\d+)(\/\S*?)"/.exec(healthcheck);
    expect(url?.[1]).toBe(String(apiPort));
    expect(url?.[2]).toBe('/healthz');
    expect(publicRoutes.has(url![2]!)).toBe(true);
    expect(JSON.parse(runtimeOps('ENTRYPOINT').at(-1) ?? '[]')).toEqual(['node', 'bin/veilgate.js', 'serve']);
    // The healthcheck script it runs is copied in.
    expect(runtimeOps('COPY').join('\n')).toContain('deploy/healthcheck.js');
  });
});

describe('probe paths and ports', () => {
  it('has the probe routes the deploy files use', () => {
    expect(publicRoutes.has('/healthz')).toBe(true);
    expect(publicRoutes.has('/readyz')).toBe(true);
  });

  it('probes the liveness and readiness routes on the api port in compose and Kubernetes', () => {
    for (const { service } of gatewayServices) {
      const test = arr(obj(service.healthcheck).test).map(str).join(' ');
      expect(test).toContain(`:${apiPort}/healthz`);
    }
    const ports = new Map(arr(container.ports).map((p) => [str(obj(p).name), obj(p).containerPort]));
    expect([...ports.values()]).toEqual([apiPort]);
    const probe = (name: string) => obj(obj(container[name]).httpGet);
    for (const [name, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz'], ['startupProbe', '/healthz']] as const) {
      if (name === 'startupProbe' && container[name] === undefined) continue;
      const get = probe(name);
      expect(get.path).toBe(path);
      expect(publicRoutes.has(str(get.path))).toBe(true);
      expect(typeof get.port === 'number' ? get.port : ports.get(str(get.port))).toBe(apiPort);
      // TLS is required off loopback (src/config/load.ts), so the probes speak HTTPS.
      expect(get.scheme).toBe('HTTPS');
    }
    const service = k8sOf('Service')[0]!;
    for (const p of arr(obj(service.spec).ports)) {
      const target = obj(p).targetPort;
      expect(typeof target === 'number' ? target : ports.get(str(target))).toBe(apiPort);
    }
    const ingressPorts = arr(obj(k8sOf('NetworkPolicy')[0]!.spec).ingress).flatMap((r) => arr(obj(r).ports).map((p) => obj(p).port));
    expect(ingressPorts).toEqual([apiPort]);
  });

  it('publishes the api port of each compose replica and sets the configs to it', () => {
    for (const { service } of gatewayServices) {
      const published = arr(service.ports).map((p) => str(p).split(':').at(-1));
      expect(published).toEqual([String(apiPort)]);
    }
    expect(obj(exampleConfig.api).port).toBe(apiPort);
    expect(obj(k8sConfig.api).port).toBe(apiPort);
  });
});

describe('environment variables', () => {
  const named = [
    ...runtimeOps('ENV').flatMap((e) => [...e.matchAll(/(\w+)=/g)].map((m) => ({ where: 'Dockerfile', name: m[1]! }))),
    ...gatewayServices.flatMap(({ name, service }) => Object.keys(composeEnv(service)).map((n) => ({ where: `compose ${name}`, name: n }))),
    ...Object.keys(k8sEnv).map((n) => ({ where: 'k8s', name: n })),
  ];

  it('maps every VEILGATE_* variable to a key of schemas/config.schema.json', () => {
    const veilgate = named.filter((n) => n.name.startsWith('VEILGATE_'));
    expect(veilgate.length).toBeGreaterThan(0);
    const unknown = veilgate.filter((n) => schemaAt(envPath(n.name)) === undefined).map((n) => `${n.where}: ${n.name}`);
    expect(unknown).toEqual([]);
  });

  it('gives every replica DATABASE_URL: the postgres service in compose, a Secret in Kubernetes', () => {
    const postgres = obj(services.postgres, 'postgres service');
    expect(str(postgres.image)).toMatch(/^postgres:15(\b|-)/);
    for (const { service } of gatewayServices) {
      const url = new URL(interpolate(composeEnv(service).DATABASE_URL ?? ''));
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgres');
      expect(url.port).toBe('5432');
      // The password is interpolated from deploy/.env, never written in the file.
      expect(composeEnv(service).DATABASE_URL).toMatch(/:\$\{POSTGRES_PASSWORD[^}]*\}@/);
      expect(obj(service.depends_on).postgres).toBeDefined();
    }
    const db = arr(container.env).map((x) => obj(x)).find((e) => e.name === 'DATABASE_URL');
    expect(db?.value).toBeUndefined();
    expect(obj(obj(db?.valueFrom).secretKeyRef).name).toBe('veilgate-database');
    expect(secretsDoc).toContain('secret generic veilgate-database');
  });

  it('takes every ${VAR} the compose file interpolates from what deploy/init-demo.sh writes', () => {
    const vars = new Set([...composeText.matchAll(/\$\{(\w+)/g)].map((m) => m[1]!));
    expect(vars.size).toBeGreaterThan(0);
    for (const v of vars) {
      expect(initDemo).toMatch(new RegExp(`(^|[^A-Z0-9_])${v}=`));
      expect(demoDotEnv[v]).toBeDefined();
    }
  });
});

describe('the example configurations', () => {
  const composeConfig = () => withEnv(exampleConfig, Object.fromEntries(Object.entries(composeEnv(gatewayServices[0]!.service)).map(([k, v]) => [k, interpolate(v)])));

  it('validates deploy/config/veilgate.yaml, with the compose environment, against the schema (storage.kind pending)', () => {
    expect(schemaProblems(withoutPendingStorage(composeConfig()))).toEqual([]);
  });

  it("validates the Kubernetes ConfigMap's configuration, with the pod's environment, against the schema", () => {
    expect(schemaProblems(withoutPendingStorage(withEnv(k8sConfig, k8sEnv)))).toEqual([]);
  });

  it('schema validation catches a bad key (the check can fail)', () => {
    const bad = withoutPendingStorage(composeConfig());
    obj(bad.api).prot = 8440;
    expect(schemaProblems(bad).join('\n')).toContain('prot');
  });

  it('uses TLS wherever the API listens off loopback, as the loader requires', () => {
    for (const config of [exampleConfig, k8sConfig]) {
      const api = obj(config.api);
      if (!['127.0.0.1', '::1', 'localhost'].includes(str(api.host))) {
        expect(typeof api.tlsCertFile).toBe('string');
        expect(typeof api.tlsKeyFile).toBe('string');
      }
    }
  });

  it("loads the compose configuration with the project's loader, key files mapped to keys-example/", () => {
    // loadConfig checks that every file exists: container paths are mapped onto a temporary tree, with
    // /etc/veilgate/keys taken from keys-example/ exactly as the compose file mounts it.
    const tree = mkdtempSync(join(tmpdir(), 'vg-deploy-'));
    const raw = withoutPendingStorage(composeConfig());
    const keysMount = composeMounts(gatewayServices[0]!.service).find((m) => m.source === '../keys-example');
    const remap = (p: string) => (keysMount !== undefined && p.startsWith(`${keysMount.target}/`) ? join(root, 'keys-example', p.slice(keysMount.target.length + 1)) : join(tree, p));
    let text = JSON.stringify(raw);
    for (const { file } of configFiles(raw)) {
      const mapped = remap(file);
      if (mapped.startsWith(tree)) {
        mkdirSync(dirname(mapped), { recursive: true });
        writeFileSync(mapped, 'placeholder\n');
      }
      text = text.replaceAll(JSON.stringify(file), JSON.stringify(mapped));
    }
    const file = join(tree, 'veilgate.json');
    writeFileSync(file, text);
    try {
      // The URL comes from the environment, as compose sets it (never from the file).
      const { config } = loadConfig({ file, env: { DATABASE_URL: 'postgres://veilgate@postgres:5432/veilgate' }, dataDir: join(tree, 'data') });
      expect(config.storage).toMatchObject({ kind: 'postgres', url: 'postgres://veilgate@postgres:5432/veilgate' });
      expect(Object.keys(config.sources).length).toBeGreaterThan(0);
      expect(config.api.port).toBe(apiPort);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
});

describe('mounts', () => {
  it('mounts every key file the compose configuration names, read-only, from a folder that has it', () => {
    const files = configFiles(exampleConfig);
    expect(files.length).toBeGreaterThan(5);
    for (const { name, service } of gatewayServices) {
      const mounts = composeMounts(service);
      for (const { where, file } of files) {
        const mount = mountFor(mounts, file);
        expect(mount, `${name}: ${where} (${file}) is not mounted`).toBeDefined();
        expect(mount!.readOnly, `${name}: ${file} must be mounted read-only`).toBe(true);
        const rel = posix.relative(mount!.target, file);
        if (mount!.source.startsWith('./.local/')) {
          // Made by deploy/init-demo.sh, which must make exactly this file.
          expect(initDemo, `${where}: init-demo.sh does not make ${file}`).toContain(`$local_dir/${mount!.source.slice('./.local/'.length)}/${rel}`);
        } else {
          expect(existsSync(join(deployDir, mount!.source, rel)), `${where}: ${mount!.source}/${rel} does not exist`).toBe(true);
        }
      }
      const config = mounts.find((m) => m.source === './config/veilgate.yaml');
      expect(config?.readOnly).toBe(true);
      expect(arr(service.command)).toEqual(['--config', config!.target]);
    }
  });

  it('shares one spool volume between the compose replicas, with a data dir of their own', () => {
    expect(gatewayServices.map((g) => g.name)).toHaveLength(2);
    const dataDir = str(exampleConfig.dataDir);
    const spools = gatewayServices.map(({ service }) => composeMounts(service).find((m) => m.target === `${dataDir}/spool`)?.source);
    const datas = gatewayServices.map(({ service }) => composeMounts(service).find((m) => m.target === dataDir)?.source);
    expect(new Set(spools).size).toBe(1);
    expect(Object.keys(obj(compose.volumes))).toContain(spools[0]);
    expect(new Set(datas).size).toBe(2);
  });

  it('mounts every key file the Kubernetes configuration names, read-only, from a Secret or ConfigMap item', () => {
    const mounts = arr(container.volumeMounts).map((x) => obj(x)).map((m) => ({ target: str(m.mountPath), name: str(m.name), readOnly: m.readOnly === true, subPath: m.subPath }));
    const volumes = new Map(arr(podSpec.volumes).map((x) => obj(x)).map((v) => [str(v.name), v]));
    for (const { where, file } of configFiles(k8sConfig)) {
      const mount = mountFor(mounts, file);
      expect(mount, `${where} (${file}) is not mounted`).toBeDefined();
      expect(mount!.readOnly, `${file} must be mounted read-only`).toBe(true);
      const volume = volumes.get(mount!.name)!;
      const source = isObj(volume.secret) ? volume.secret : isObj(volume.configMap) ? volume.configMap : undefined;
      expect(source, `${where}: volume ${mount!.name} is not a Secret or ConfigMap`).toBeDefined();
      const items = arr(source!.items).map((x) => obj(x));
      const rel = posix.relative(mount!.target, file);
      const item = items.find((i) => i.path === rel);
      expect(item, `${where}: no item ${rel} in volume ${mount!.name}`).toBeDefined();
      if (isObj(volume.secret)) {
        // The commented kubectl example creates this Secret with this key.
        const secretName = str(volume.secret.secretName);
        expect(secretsDoc).toMatch(new RegExp(`secret (generic|tls) ${secretName}\\b`));
        if (!secretsDoc.includes(`secret tls ${secretName}`)) expect(secretsDoc).toContain(`${str(item!.key)}=`);
      }
    }
    const config = mounts.find((m) => m.target === '/etc/veilgate/veilgate.yaml');
    expect(config?.readOnly).toBe(true);
    expect(arr(container.args)).toEqual(['--config', '/etc/veilgate/veilgate.yaml']);
    expect(str(obj(volumes.get(config!.name)!.configMap).name)).toBe('veilgate-config');
  });

  it('mounts the data dir, a shared spool claim and /tmp as volumes in Kubernetes', () => {
    const mounts = new Map(arr(container.volumeMounts).map((x) => obj(x)).map((m) => [str(m.mountPath), str(m.name)]));
    const volumes = new Map(arr(podSpec.volumes).map((x) => obj(x)).map((v) => [str(v.name), v]));
    const dataDir = str(k8sConfig.dataDir);
    expect(volumes.get(mounts.get(dataDir)!)?.emptyDir).toBeDefined();
    expect(volumes.get(mounts.get('/tmp')!)?.emptyDir).toBeDefined();
    const claim = str(obj(volumes.get(mounts.get(`${dataDir}/spool`)!)?.persistentVolumeClaim).claimName);
    const pvc = k8sOf('PersistentVolumeClaim').find((p) => obj(p.metadata).name === claim);
    expect(arr(obj(pvc?.spec).accessModes)).toContain('ReadWriteMany');
  });
});

describe('replicas and hardening', () => {
  it('runs two replicas, with a disruption budget of one', () => {
    expect(gatewayServices).toHaveLength(2);
    expect(obj(deployment.spec).replicas).toBe(2);
    const pdb = obj(k8sOf('PodDisruptionBudget')[0]!.spec);
    expect(pdb.minAvailable).toBe(1);
    const podLabels = obj(obj(obj(deployment.spec).template).metadata).labels;
    expect(obj(pdb.selector).matchLabels).toEqual(podLabels);
    expect(obj(k8sOf('Service')[0]!.spec).selector).toEqual(podLabels);
    expect(obj(obj(k8sOf('NetworkPolicy')[0]!.spec).podSelector).matchLabels).toEqual(podLabels);
  });

  it('runs as non-root on a read-only root filesystem in compose and Kubernetes', () => {
    for (const { service } of gatewayServices) {
      expect(service.read_only).toBe(true);
      expect(str(service.user).split(':')[0]).not.toMatch(/^(root|0|)$/);
      expect(arr(service.tmpfs).map((t) => str(t).split(':')[0])).toContain('/tmp');
    }
    const pod = obj(podSpec.securityContext);
    const own = obj(container.securityContext);
    expect(pod.runAsNonRoot).toBe(true);
    expect(own.runAsNonRoot).toBe(true);
    expect(pod.runAsUser).not.toBe(0);
    expect(own.readOnlyRootFilesystem).toBe(true);
    expect(own.allowPrivilegeEscalation).toBe(false);
    expect(arr(obj(own.capabilities).drop)).toContain('ALL');
    const resources = obj(container.resources);
    expect(obj(resources.requests).memory).toBeDefined();
    expect(obj(resources.limits).memory).toBeDefined();
  });

  it('lets the gateway out only to PostgreSQL, SFTP and DNS', () => {
    const egress = arr(obj(k8sOf('NetworkPolicy')[0]!.spec).egress).map((x) => obj(x));
    // A rule without ports would allow every port.
    for (const rule of egress) expect(arr(rule.ports).length).toBeGreaterThan(0);
    const ports = egress.flatMap((r) => arr(r.ports).map((p) => `${str(obj(p).protocol)}/${str(obj(p).port)}`)).sort();
    expect(ports).toEqual(['TCP/22', 'TCP/53', 'TCP/5432', 'UDP/53']);
  });

  it('points the compose SFTP source at an OpenSSH server built in deploy/sftp', () => {
    const sftpSources = Object.values(obj(exampleConfig.sources)).map((x) => obj(x)).filter((s) => isObj(s.sftp));
    expect(sftpSources.length).toBeGreaterThan(0);
    for (const s of sftpSources) {
      const host = str(obj(s.sftp).host);
      const server = obj(services[host], `compose service ${host}`);
      expect(str(obj(server.build).context)).toBe('./sftp');
    }
    expect(read('deploy', 'sftp', 'Dockerfile')).toMatch(/apt-get install[^\n]*openssh-server/);
    expect(read('deploy', 'sftp', 'sshd_config')).toMatch(/^\s*ForceCommand internal-sftp/m);
  });
});

describe('no secrets in the repository', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (['.local', '.env'].includes(name)) return []; // made by init-demo.sh, git-ignored
      return statSync(path).isDirectory() ? files(path) : [path];
    });
  const deployFiles = files(deployDir).map((path) => ({ path: path.slice(root.length + 1), text: readFileSync(path, 'utf8') }));
  const demoSecrets = readdirSync(join(root, 'keys-example'))
    .filter((f) => /\.(key|api-key|password)$/.test(f))
    .map((f) => readFileSync(join(root, 'keys-example', f), 'utf8').trim());

  /** Runs of base64 (or base64url) long enough to be key material (32 bytes is 44 characters); not hex digests or SSH fingerprints. */
  function keyMaterial(text: string): string[] {
    return [...text.matchAll(/(SHA256:)?([A-Za-z0-9+/_-]{40,}={0,2})/g)]
      .filter((m) => m[1] === undefined && !/^[0-9a-f]+$/.test(m[2]!) && /[0-9]/.test(m[2]!) && /[A-Z]/.test(m[2]!) && /[a-z]/.test(m[2]!))
      .map((m) => m[2]!);
  }

  it('finds key material when it is there (the check can fail)', () => {
    expect(keyMaterial(`key: ${demoSecrets[0]}`)).toHaveLength(1);
    expect(keyMaterial('hostKeySha256: SHA256:rTVtEYw/VEewqkad7SpeU7EdsFDXU+8EYurWurmi2BE')).toEqual([]);
  });

  it('has no PEM block, base64 key material or demo secret value in any deploy file', () => {
    expect(deployFiles.length).toBeGreaterThan(10);
    expect(demoSecrets.length).toBeGreaterThan(3);
    for (const { path, text } of deployFiles) {
      expect(text, path).not.toContain('-----BEGIN');
      expect(keyMaterial(text), path).toEqual([]);
      for (const secret of demoSecrets) expect(text.includes(secret), `${path} holds a demo secret`).toBe(false);
    }
  });

  it('has no Secret manifest with values in deploy/k8s', () => {
    const secrets = k8sOf('Secret');
    for (const s of secrets) {
      expect(s.data).toBeUndefined();
      expect(s.stringData).toBeUndefined();
    }
    expect(secretsDoc).toMatch(/kubectl create secret/);
  });
});
