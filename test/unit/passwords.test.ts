// Password schemes: hashing for storage and verifying what slapd, openssl and libargon2-style
// tools store; right and wrong passwords for every scheme, SHA-crypt against Drepper's vectors.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { argon2d, argon2i, argon2id } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { hashPassword, shaCrypt, splitScheme, verifyPassword } from '../../src/access/passwords.js';

const b = (s: string) => Buffer.from(s, 'utf8');
/** slapd's own hashing tool (CI installs slapd, which ships it). */
const SLAPPASSWD = ['/usr/sbin/slappasswd', '/usr/bin/slappasswd'].find((p) => existsSync(p)) ?? 'slappasswd';

async function expectVerifies(stored: string, right = 'secret', wrong = 'Secret') {
  expect(await verifyPassword(stored, b(right)), `${stored} should accept ${right}`).toBe(true);
  expect(await verifyPassword(stored, b(wrong)), `${stored} should refuse ${wrong}`).toBe(false);
  expect(await verifyPassword(stored, b('')), `${stored} should refuse the empty password`).toBe(false);
}

describe('fixed values of the classic schemes', () => {
  // Fixed values for the password "secret" (digests computed once).
  it.each([
    ['{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='],
    ['{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ=='],
    ['{SSHA}Wcm1xEisNjqp921ALcHfuQ7avFdzYWx0MTIzNA=='], // salt "salt1234"
    ['{SMD5}' + Buffer.concat([Buffer.from('99cd2e5a95d555ee7be3b038a4a84625', 'hex'), Buffer.from('salt')]).toString('base64')],
  ])('%s', async (stored) => {
    await expectVerifies(stored);
  });

  it('cleartext, with and without {CLEARTEXT}', async () => {
    await expectVerifies('secret');
    await expectVerifies('{CLEARTEXT}secret');
  });

  it('unknown schemes and garbage are refused, not thrown', async () => {
    expect(await verifyPassword('{NOPE}secret', b('secret'))).toBe(false);
    expect(await verifyPassword('{SSHA}', b('secret'))).toBe(false);
    expect(await verifyPassword('{PBKDF2-SHA512}garbage', b('secret'))).toBe(false);
    expect(await verifyPassword('{ARGON2}garbage', b('secret'))).toBe(false);
    expect(await verifyPassword('{ARGON2}$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$YkblqjpO4DJcbaL', b('secret'))).toBe(false);
  });
});

describe('hashPassword round trips', () => {
  it.each(['SSHA', 'SSHA256', 'SSHA512', 'PBKDF2-SHA256', 'PBKDF2-SHA512', 'ARGON2'] as const)('%s', async (scheme) => {
    const stored = await hashPassword(b('secret'), scheme);
    expect(splitScheme(stored)?.[0]).toBe(scheme);
    await expectVerifies(stored);
    // A salt per hash: the same password never hashes to the same value twice.
    expect(await hashPassword(b('secret'), scheme)).not.toBe(stored);
  });

  it("the default scheme is PBKDF2-SHA512 with OpenLDAP's layout", async () => {
    expect(await hashPassword(b('secret'))).toMatch(/^\{PBKDF2-SHA512\}100000\$[./A-Za-z0-9]+\$[./A-Za-z0-9]+$/);
  });

  it("ARGON2 stores the PHC string of OpenLDAP's argon2 module", async () => {
    expect(await hashPassword(b('secret'), 'ARGON2')).toMatch(
      /^\{ARGON2\}\$argon2id\$v=19\$m=65536,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/,
    );
  });
});

describe('values produced by slappasswd', () => {
  const slappasswd = (...args: string[]) => execFileSync(SLAPPASSWD!, args, { encoding: 'utf8' }).trim();

  it.each(['{SSHA}', '{SHA}', '{SMD5}', '{MD5}'])('%s', async (scheme) => {
    const stored = slappasswd('-s', 'secret', '-h', scheme);
    expect(stored.startsWith(scheme)).toBe(true);
    await expectVerifies(stored);
  });

  it('{CRYPT} with $6$ and $5$ salts', async () => {
    for (const fmt of ['$6$%.16s', '$5$%.16s', '$6$rounds=7000$%.16s']) {
      const stored = slappasswd('-h', '{CRYPT}', '-c', fmt, '-s', 'secret');
      expect(stored).toMatch(/^\{CRYPT\}\$[56]\$/);
      await expectVerifies(stored);
    }
  });
});

describe("salted SHA-2 and PBKDF2 (as OpenLDAP's contrib modules store them)", () => {
  it('{SSHA256} / {SSHA512}', async () => {
    const { createHash } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef', 'hex');
    for (const [scheme, alg] of [
      ['SSHA256', 'sha256'],
      ['SSHA512', 'sha512'],
    ] as const) {
      const d = createHash(alg).update('secret').update(salt).digest();
      await expectVerifies(`{${scheme}}${Buffer.concat([d, salt]).toString('base64')}`);
    }
  });

  it('{PBKDF2-SHA256} / {PBKDF2-SHA512} fixed values', async () => {
    const { pbkdf2Sync } = await import('node:crypto');
    const salt = Buffer.from('fixed-salt-16byt');
    const ab64 = (x: Buffer) => x.toString('base64').replace(/\+/g, '.').replace(/=+$/, '');
    for (const [scheme, alg, len] of [
      ['PBKDF2-SHA256', 'sha256', 32],
      ['PBKDF2-SHA512', 'sha512', 64],
    ] as const) {
      const dk = pbkdf2Sync('secret', salt, 1000, len, alg);
      await expectVerifies(`{${scheme}}1000$${ab64(salt)}$${ab64(dk)}`);
    }
  });
});

describe('{CRYPT} SHA-crypt', () => {
  // Ulrich Drepper, "Unix crypt using SHA-256 and SHA-512", test vectors, as glibc/libxcrypt's
  // crypt(3) and `openssl passwd` compute them (cross-checked with both).
  const vectors: Array<[string, string, string]> = [
    ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
    [
      '$5$rounds=10000$saltstringsaltstring',
      'Hello world!',
      '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA',
    ],
    [
      '$5$rounds=5000$toolongsaltstring',
      'This is just a test',
      '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5',
    ],
    [
      '$5$rounds=1400$anotherlongsaltstring',
      'a very much longer text to encrypt.  This one even stretches over morethan one line.',
      '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1',
    ],
    [
      '$5$rounds=77777$short',
      'we have a short salt string but not a short password',
      '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/',
    ],
    [
      '$5$rounds=123456$asaltof16chars..',
      'a short string',
      '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD',
    ],
    [
      '$5$rounds=10$roundstoolow',
      'the minimum number is still observed',
      '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC',
    ],
    [
      '$6$saltstring',
      'Hello world!',
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    ],
    [
      '$6$rounds=10000$saltstringsaltstring',
      'Hello world!',
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    ],
    [
      '$6$rounds=5000$toolongsaltstring',
      'This is just a test',
      '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0',
    ],
    [
      '$6$rounds=1400$anotherlongsaltstring',
      'a very much longer text to encrypt.  This one even stretches over morethan one line.',
      '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1',
    ],
    [
      '$6$rounds=77777$short',
      'we have a short salt string but not a short password',
      '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0',
    ],
    [
      '$6$rounds=123456$asaltof16chars..',
      'a short string',
      '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1',
    ],
    [
      '$6$rounds=10$roundstoolow',
      'the minimum number is still observed',
      '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.',
    ],
  ];

  it.each(vectors)('%s', async (setting, password, expected) => {
    expect(shaCrypt(b(password), setting)).toBe(expected);
    await expectVerifies(`{CRYPT}${expected}`, password, password + 'x');
  });

  // Values from `openssl passwd -5 -salt abc secret` and `openssl passwd -6 -salt abc secret`.
  it.each([
    ['$5$abc$qsg6EHbUzHQzF1POlD7zUwBINSELQxypPaeDcZe6vH0'],
    ['$6$abc$IdWKNKTJEb8LxY7CGg8YBXlvtfZzFw7Mp/r6niK9YB2mdvgY..TKjv1T..8RadRt2qvUHYRLr/TsVArtr91iR1'],
  ])('openssl passwd value %s', async (value) => {
    await expectVerifies(`{CRYPT}${value}`);
  });

  it('values openssl passwd produces now', async () => {
    for (const flag of ['-5', '-6']) {
      for (const salt of ['abc', 'Zx9./longersalt16', 'rounds=6000$q1w2e3']) {
        const value = execFileSync('openssl', ['passwd', flag, '-salt', salt, 'secret'], { encoding: 'utf8' }).trim();
        expect(value.startsWith(`$${flag[1]}$`)).toBe(true);
        expect(shaCrypt(b('secret'), value)).toBe(value);
        await expectVerifies(`{CRYPT}${value}`);
      }
    }
  });

  it('other crypt formats are refused without an exception', async () => {
    for (const stored of [
      '{CRYPT}aaqPiZY5xR5l.', // traditional DES
      '{CRYPT}$1$abc$V/H1rTrFPyvHdyJA4mCFJ0', // MD5-crypt
      '{CRYPT}$2b$10$abcdefghijklmnopqrstuu8PUg0d2Mnb8tKFE5f4eI1y4c7oqGGm', // bcrypt
      '{CRYPT}$y$j9T$abc$def', // yescrypt
      '{CRYPT}',
      '{CRYPT}$5$abc',
      '{CRYPT}$6$rounds=abc$salt$hash',
    ]) {
      expect(await verifyPassword(stored, b('secret'))).toBe(false);
    }
  });
});

describe('{ARGON2}', () => {
  // Generated once with hash-wasm (password "secret", salt "astldap-fixed-salt").
  const FIXED = {
    argon2id: '$argon2id$v=19$m=65536,t=2,p=1$YXN0bGRhcC1maXhlZC1zYWx0$YkblqjpO4DJcbaL/PeCH7tSoFKJsdrJlcXuZZ3hWfhE',
    argon2i: '$argon2i$v=19$m=65536,t=2,p=1$YXN0bGRhcC1maXhlZC1zYWx0$EpUMlRJDX3e6ctuzt/633NJ5M56RIldT4kJgNjagfnw',
    argon2d: '$argon2d$v=19$m=65536,t=2,p=1$YXN0bGRhcC1maXhlZC1zYWx0$oukJZh3HrU/P7KwjcMT7p+sXJI+5l38ZbAoLcDvVjG8',
    small: '$argon2id$v=19$m=4096,t=3,p=2$YXN0bGRhcC1maXhlZC1zYWx0$oQud1MuJwunHddBkE8YRnQ',
  };

  it.each(Object.entries(FIXED))('fixed %s value', async (_name, value) => {
    await expectVerifies(`{ARGON2}${value}`);
  });

  it("the reference implementation's README example (phc-winner-argon2) verifies", async () => {
    // echo -n password | argon2 somesalt -t 2 -m 16 -p 4 -l 24
    await expectVerifies('{ARGON2}$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', 'password', 'passwort');
  });

  it('values hash-wasm generates now, in each variant, and the fixed ones are reproducible', async () => {
    const salt = Buffer.from('astldap-fixed-salt');
    const opts = {
      password: 'secret',
      salt,
      memorySize: 65536,
      iterations: 2,
      parallelism: 1,
      hashLength: 32,
      outputType: 'encoded',
    } as const;
    expect(await argon2id(opts)).toBe(FIXED.argon2id);
    expect(await argon2i(opts)).toBe(FIXED.argon2i);
    expect(await argon2d(opts)).toBe(FIXED.argon2d);
    const fresh = await argon2id({ ...opts, salt: Buffer.from('another salt value'), memorySize: 1024, iterations: 1 });
    await expectVerifies(`{ARGON2}${fresh}`);
  });
});

describe('Password Modify request values (RFC 3062)', async () => {
  const { decodePasswordModify: decodePasswdModifyRequest } = await import('../../src/protocol/extended/password-modify.js');
  const { generatePassword } = await import('../../src/directory/password-modify.js');
  const { BerWriter } = await import('../../src/protocol/ber.js');

  it('decodes the optional fields and refuses malformed values with protocolError', () => {
    const w = new BerWriter();
    w.startSequence();
    w.writeString('uid=alice,dc=x', 0x80);
    w.writeString('old', 0x81);
    w.writeString('new', 0x82);
    w.endSequence();
    const r = decodePasswdModifyRequest(Buffer.from(w.toBuffer()));
    expect(r.userIdentity).toBe('uid=alice,dc=x');
    expect(r.oldPassword?.toString()).toBe('old');
    expect(r.newPassword?.toString()).toBe('new');
    expect(decodePasswdModifyRequest(undefined)).toEqual({ kind: 'passwordModify' });
    expect(decodePasswdModifyRequest(Buffer.from([0x30, 0x00]))).toEqual({ kind: 'passwordModify' });
    for (const bad of [
      [0x04, 0x00],
      [0x30, 0x05, 0x80, 0x01],
      [0x30, 0x02, 0x83, 0x00],
      [0x30, 0x04, 0x82, 0x00, 0x80, 0x00],
      [0x30, 0x00, 0x00],
    ]) {
      expect(() => decodePasswdModifyRequest(Buffer.from(bad))).toThrow(expect.objectContaining({ resultCode: 2 }));
    }
  });

  it('generated passwords are long and random', () => {
    const a = generatePassword();
    expect(a).toMatch(/^[A-Za-z2-9]{16,}$/);
    expect(generatePassword()).not.toBe(a);
  });
});
