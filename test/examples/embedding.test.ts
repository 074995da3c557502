import { Client } from 'ldapts';
import { expect, it } from 'vitest';
import { startServer } from 'astldap';

// The code under test: your program's LDAP lookup (inline here; yours is imported).
async function mailOf(url: string, bind: { dn: string; password: string }, uid: string) {
  const client = new Client({ url });
  try {
    await client.bind(bind.dn, bind.password);
    const { searchEntries } = await client.search('ou=people,dc=test,dc=local', { filter: `(uid=${uid})`, attributes: ['mail'] });
    return searchEntries[0]?.mail;
  } finally {
    await client.unbind();
  }
}

const fixture = `
dn: dc=test,dc=local
objectClass: dcObject
objectClass: organization
dc: test
o: Test

dn: ou=people,dc=test,dc=local
objectClass: organizationalUnit
ou: people

dn: uid=ann,ou=people,dc=test,dc=local
objectClass: inetOrgPerson
uid: ann
cn: Ann
sn: Example
mail: ann@test.local
userPassword: ann-secret
`;

it('finds a user by uid, and not after she is deleted', async () => {
  // A memory directory on a free port; closed when the block ends (`await using`).
  await using server = await startServer({ suffix: 'dc=test,dc=local', seedLdif: fixture });
  const clean = await server.snapshot();

  expect(await mailOf(server.url, server.credentials, 'ann')).toBe('ann@test.local');

  await server.importLdif('dn: uid=ann,ou=people,dc=test,dc=local\nchangetype: delete\n');
  expect(await mailOf(server.url, server.credentials, 'ann')).toBeUndefined();

  await server.restore(clean); // back to the fixture in milliseconds
  expect(await mailOf(server.url, server.credentials, 'ann')).toBe('ann@test.local');
});
