// Sealing the secrets the admin module keeps (bind passwords, role and library passwords,
// dynamic credentials, token secrets) with AES-256-GCM under a key kept outside the database,
// like Vault's barrier: a copied database or backup holds no usable credential. The key comes
// from ASTLDAP_SEAL_KEY (a comma list: the first seals, the rest only open) or from a 0600 key
// file made on first start; each sealed value names the id of the key that sealed it.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const PREFIX = 'sealed:v1:';
const KEY_BYTES = 32;

/** A seal key problem found at start (wrong key, unreadable key file): the server must not start. */
export class SealKeyError extends Error {
  override name = 'SealKeyError';
}

/** Where the keys come from: the environment, a key file, or (memory databases only) this process. */
export type SealKeySource = { kind: 'env'; value: string } | { kind: 'file'; file: string } | { kind: 'ephemeral' };

/** A key's id: the first 8 bytes of its SHA-256, so a different key is told apart by id, not by a failed decryption. */
const keyId = (key: Buffer) => createHash('sha256').update('astldap-seal-key').update(key).digest('hex').slice(0, 16);

function parseKey(text: string, where: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== KEY_BYTES) throw new SealKeyError(`${where}: a seal key is 32 bytes, as 64 hex digits or base64`);
  return key;
}

interface KeyFile {
  current: string;
  keys: Record<string, string>;
}

export class Sealer {
  private constructor(
    private readonly keys: Map<string, Buffer>,
    private current: string,
    readonly source: SealKeySource,
  ) {}

  /** Opens the key source; a key file that does not exist yet is created (0600) with a new key. */
  static open(source: SealKeySource): Sealer {
    if (source.kind === 'ephemeral') return Sealer.fromKeys([randomBytes(KEY_BYTES)], source);
    if (source.kind === 'env') {
      const keys = source.value.split(',').map((k, i) => parseKey(k, `ASTLDAP_SEAL_KEY item ${i + 1}`));
      return Sealer.fromKeys(keys, source);
    }
    if (!existsSync(source.file)) {
      const key = randomBytes(KEY_BYTES);
      writeKeyFile(source.file, { current: keyId(key), keys: { [keyId(key)]: key.toString('base64') } });
      return Sealer.fromKeys([key], source);
    }
    const mode = statSync(source.file).mode & 0o777;
    if (mode & 0o077) {
      throw new SealKeyError(`seal key file ${source.file} is open to other users (mode ${mode.toString(8)}): chmod 600 it`);
    }
    let data: KeyFile;
    try {
      data = JSON.parse(readFileSync(source.file, 'utf8')) as KeyFile;
    } catch (err) {
      throw new SealKeyError(`seal key file ${source.file} is unreadable: ${(err as Error).message}`);
    }
    const keys = new Map<string, Buffer>();
    for (const [, v] of Object.entries(data.keys ?? {})) {
      const k = parseKey(v, source.file);
      keys.set(keyId(k), k);
    }
    if (!keys.has(data.current)) throw new SealKeyError(`seal key file ${source.file}: its current key is missing`);
    return new Sealer(keys, data.current, source);
  }

  private static fromKeys(keys: Buffer[], source: SealKeySource): Sealer {
    return new Sealer(new Map(keys.map((k) => [keyId(k), k])), keyId(keys[0]!), source);
  }

  /** The id of the key new values are sealed with. */
  get keyId(): string {
    return this.current;
  }

  static isSealed(v: unknown): v is string {
    return typeof v === 'string' && v.startsWith(PREFIX);
  }

  /** The id of the key a sealed value names. */
  static keyIdOf(v: string): string {
    return v.slice(PREFIX.length).split(':')[0] ?? '';
  }

  seal(plaintext: string): string {
    const key = this.keys.get(this.current)!;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    c.setAAD(Buffer.from(PREFIX + this.current));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final(), c.getAuthTag()]);
    return `${PREFIX}${this.current}:${iv.toString('base64url')}:${ct.toString('base64url')}`;
  }

  /** The plaintext; a SealKeyError names the key id when the key is missing or does not open it. */
  unseal(v: string): string {
    const [kid = '', ivText = '', body = ''] = v.slice(PREFIX.length).split(':');
    const key = this.keys.get(kid);
    if (!key) {
      throw new SealKeyError(
        `a secret is sealed with seal key ${kid}, which ${this.describe()} does not hold (key ${this.current} is configured): wrong seal key`,
      );
    }
    const buf = Buffer.from(body, 'base64url');
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'));
      d.setAAD(Buffer.from(PREFIX + kid));
      d.setAuthTag(buf.subarray(buf.length - 16));
      return Buffer.concat([d.update(buf.subarray(0, buf.length - 16)), d.final()]).toString('utf8');
    } catch {
      throw new SealKeyError(`a secret sealed with seal key ${kid} fails authentication: the value was altered`);
    }
  }

  private describe(): string {
    return this.source.kind === 'env' ? 'ASTLDAP_SEAL_KEY' : this.source.kind === 'file' ? `key file ${this.source.file}` : 'this process';
  }

  /**
   * Step one of a rotation: a new current key, the old ones kept (in the key file before any
   * value is resealed, so a crash in between leaves every value openable). Env keys rotate by
   * changing ASTLDAP_SEAL_KEY (new key first, old ones after) and restarting.
   */
  addKey(): string {
    if (this.source.kind === 'env') {
      throw new SealKeyError('the seal key comes from ASTLDAP_SEAL_KEY: put a new key first in that list (old ones after it) and restart');
    }
    const key = randomBytes(KEY_BYTES);
    this.keys.set(keyId(key), key);
    this.current = keyId(key);
    this.persist();
    return this.current;
  }

  /** Step two, after every value is resealed: only the current key is kept. */
  dropOldKeys(): void {
    for (const id of [...this.keys.keys()]) if (id !== this.current) this.keys.delete(id);
    this.persist();
  }

  private persist(): void {
    if (this.source.kind !== 'file') return;
    const keys: Record<string, string> = {};
    for (const [id, k] of this.keys) keys[id] = k.toString('base64');
    writeKeyFile(this.source.file, { current: this.current, keys });
  }
}

/** Writes the key file atomically (a 0600 temp file renamed over it). */
function writeKeyFile(file: string, data: KeyFile): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(data) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}
