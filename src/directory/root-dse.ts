// The root DSE (RFC 4512 §5.1): what this server is and supports, read with a base search on
// the empty DN. It lives outside the store.

import { SUPPORTED_FEATURES, TXN_OIDS } from '../ldap/oids.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import type { EntryRecord } from '../store/types.js';
import { checkAssertion } from './assertion.js';
import { CONFIG_DN } from './cn-config.js';
import { SUBSCHEMA_DN, VENDOR_NAME, VENDOR_VERSION, type Directory } from './directory.js';
import type { SearchSource } from './search/collect.js';

/** The OIDs the root DSE advertises, from the registries (the frontend is handed them). */
export interface Advertised {
  /** The request controls with a codec (protocol/controls/index.ts). */
  readonly controls: readonly string[];
  /** The extended operations with a handler (server/extended.ts). */
  readonly extensions: readonly string[];
}

export function rootDse(dir: Directory, advertised: Advertised): EntryRecord {
  // Transactions turned off in config.yaml are not offered.
  const offered = (oid: string) => dir.txns.enabled || !TXN_OIDS.includes(oid);
  return {
    dn: '',
    attrs: {
      objectclass: ['top', 'extensibleObject'],
      namingcontexts: [dir.config.suffix],
      subschemasubentry: [SUBSCHEMA_DN],
      supportedldapversion: ['3'],
      supportedcontrol: advertised.controls.filter(offered),
      supportedextension: advertised.extensions.filter(offered),
      supportedfeatures: [...SUPPORTED_FEATURES],
      supportedsaslmechanisms: ['EXTERNAL'],
      configcontext: [CONFIG_DN],
      vendorname: [VENDOR_NAME],
      vendorversion: [VENDOR_VERSION],
    },
  };
}

/** Only a base search finds the root DSE; it has no subordinates to search. */
export function rootDseSource(advertised: Advertised): SearchSource {
  return async (dir, ctx, plan, results) => {
    const dse = { dn: '', ndn: '', rec: rootDse(dir, advertised) };
    checkAssertion(dir, ctx, dse);
    if (plan.scope !== 'base') throw new LdapError(ResultCode.noSuchObject, '');
    await results.emit(dse);
  };
}
