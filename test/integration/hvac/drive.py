"""Drives astldap's admin API with hvac (Debian's python3-hvac), as a Vault client would.

Static roles, dynamic roles, leases, library check-out/check-in and token policies through
hvac's own classes where it has them (tokens, policies, leases) and its generic
read/write/list where it has no class for this engine. Prints one JSON object of results;
the calling test (admin-hvac.test.ts) checks them against the directory.
"""

import json
import os

import hvac

ADDR = os.environ["VAULT_ADDR"]
B = os.environ["SUFFIX"]
c = hvac.Client(url=ADDR, token=os.environ["VAULT_TOKEN"])
out = {}

# static roles on a PJSIP auth (schema asterisk)
c.write("ldap/config", binddn=f"cn=admin,{B}", bindpass="secret", userdn=f"ou=people,{B}", userattr="uid", schema="asterisk")
c.write("ldap/static-role/pj1000", dn=f"cn=1000,ou=auths,ou=pjsip,{B}", rotation_period="1h")
out["static"] = c.read("ldap/static-cred/pj1000")["data"]
out["static_roles"] = c.list("ldap/static-role")["data"]["keys"]
c.write("ldap/rotate-role/pj1000")
out["static_rotated"] = c.read("ldap/static-cred/pj1000")["data"]

# a dynamic role (the temporary phone of docs/asterisk.md) and its lease
c.write("ldap/role/phone", creation_ldif=os.environ["PHONE_CREATION"], deletion_ldif=os.environ["PHONE_DELETION"], default_ttl="1h", max_ttl="2h")
out["dynamic_roles"] = c.list("ldap/role")["data"]["keys"]
creds = c.read("ldap/creds/phone")
out["dynamic"] = dict(creds["data"], lease_id=creds["lease_id"], lease_duration=creds["lease_duration"])
out["lease"] = c.sys.read_lease(creds["lease_id"])["data"]
out["renewed"] = c.sys.renew_lease(creds["lease_id"], increment=600)["lease_duration"]
kept = c.read("ldap/creds/phone")
out["kept"] = dict(kept["data"], lease_id=kept["lease_id"])
c.sys.revoke_lease(creds["lease_id"])

# a library set
c.write("ldap/library/staff", service_account_names=["alice", "bob"], ttl="1h", max_ttl="1h")
co = c.write("ldap/library/staff/check-out", ttl="30m")
out["checkout"] = dict(co["data"], lease_id=co["lease_id"])
out["status_out"] = c.read("ldap/library/staff/status")["data"]
out["checkin"] = c.write("ldap/library/staff/check-in", service_account_names=[co["data"]["service_account_name"]])["data"]
out["status_in"] = c.read("ldap/library/staff/status")["data"]

# a token with a policy
c.sys.create_or_update_policy("pj-reader", 'path "ldap/static-cred/pj*" { capabilities = ["read"] }')
t = c.auth.token.create(policies=["pj-reader"], ttl="10m")
r = hvac.Client(url=ADDR, token=t["auth"]["client_token"])
out["reader_policies"] = r.auth.token.lookup_self()["data"]["policies"]
out["reader_cred"] = r.read("ldap/static-cred/pj1000")["data"]["password"]
try:
    r.read("ldap/config")
    out["reader_config"] = "allowed"
except hvac.exceptions.Forbidden:
    out["reader_config"] = "forbidden"
r.auth.token.revoke_self()
try:
    r.auth.token.lookup_self()
    out["after_revoke"] = "alive"
except hvac.exceptions.Forbidden:
    out["after_revoke"] = "forbidden"

print(json.dumps(out))
