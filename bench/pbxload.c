/* pbxload: what a PBX of N PJSIP phones does to its directory, on libldap, open loop.
 * Two connections, as two realtime users of one server (res_config_ldap keeps one connection per
 * Asterisk and sends one request at a time on it):
 *   calls   at RATE/s: each call set-up is the lookups res_pjsip and pbx_realtime make through
 *           res_config_ldap, in order, on one connection, waiting for each answer
 *           (docs: ../shared/reference/asterisk-res-ldap-contract.md §4.2, §8.3 ex. 8 and 18):
 *             endpoint (&(objectClass=AstldapPjsipEndpoint)(cn=ID))
 *             auth     (&(objectClass=AstldapPjsipAuth)(cn=ID))
 *             aor      (&(objectClass=AstldapPjsipAor)(cn=ID))
 *             contacts (&(objectClass=AstldapPjsipContact)(cn=ID;@*))   sorcery's regex ^ID;@
 *             dialplan (&(objectClass=AsteriskExtension)(AstExtension=ID)(AstPriority=1)(AstContext=default))
 *   writes  re-registrations at REG/s (the update of a contact: a search by id, then one modify of
 *           its expiration, via address and port, call id, user agent and registrar; ADD per mille
 *           of them are a new contact instead: add the new one, delete the old) and qualify
 *           updates at QUAL/s (one replace on the contact).
 * Every operation is scheduled on a fixed clock (open loop) and its latency counts from the time
 * it was due, so a server that falls behind pays for the queue it builds (no coordinated omission).
 * Prints one line: calls= call_p50_us= call_p99_us= regs= reg_p50_us= reg_p99_us= quals=
 * qual_p50_us= qual_p99_us= write_p99_us= errors= behind_max_us=, then the service times (from
 * the first request sent, not from the time due: what a closed loop would see) call_svc_p50_us=
 * call_svc_p99_us= reg_svc_p99_us=
 * Build: cc -O2 -o pbxload pbxload.c -lldap -llber -lpthread
 * Usage: pbxload -H url -A authdn -W pw -s suffix -n phones -t seconds [-r calls/s -g regs/s
 *        -q quals/s -a adds-per-mille -S statefile -z seed]
 * Contacts are cn=ID;@gG,ou=contacts,ou=pjsip,SUFFIX with generation G = 0 at the start; -S keeps
 * each phone's G in a file between runs against the same server. */
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url = "ldap://127.0.0.1:3891", *authdn = NULL, *authpw = NULL;
static const char *suffix = "dc=example,dc=com";
static int phones = 10000, seconds = 20, add_pm = 20;
static double call_rate = 200, reg_rate = 170, qual_rate = 50;
static double t_start, t_end;
static const char *state_file = NULL; /* -S: each phone's contact generation, kept between runs */
static unsigned seed = 1;              /* -z */
static int *gen;

typedef struct { long n, cap; unsigned *lat; } Lat;
typedef struct { Lat calls, calls_svc, regs, regs_svc, quals; long errs; double behind_max; unsigned seed; } Stats;

static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }

static void lat_init(Lat *l, long cap) { l->n = 0; l->cap = cap; l->lat = malloc(sizeof(unsigned) * cap); }
static void lat_add(Lat *l, double us) { if (l->n < l->cap) l->lat[l->n++] = (unsigned)us; }

/* Sleeps until DUE (µs on the monotonic clock); returns how late the caller already was. */
static double wait_until(double due) {
  double late = now_us() - due;
  if (late < 0) { struct timespec d = { (time_t)(-late / 1e6), (long)((long)(-late) % 1000000) * 1000 }; nanosleep(&d, NULL); return 0; }
  return late;
}

static LDAP *open_conn(void) {
  LDAP *ld; int v = LDAP_VERSION3;
  if (ldap_initialize(&ld, url) != LDAP_SUCCESS) return NULL;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v);
  struct berval pw = { authpw ? strlen(authpw) : 0, authpw ? (char *)authpw : "" };
  if (ldap_sasl_bind_s(ld, authdn ? authdn : "", LDAP_SASL_SIMPLE, &pw, NULL, NULL, NULL) != LDAP_SUCCESS) { ldap_unbind_ext_s(ld, NULL, NULL); return NULL; }
  return ld;
}

/* One subtree search, all user attributes, as the driver sends it; 0 when it returned between MIN and MAX entries. */
static int search(LDAP *ld, const char *base, const char *filter, int min, int max) {
  LDAPMessage *res = NULL;
  int rc = ldap_search_ext_s(ld, base, LDAP_SCOPE_SUBTREE, filter, NULL, 0, NULL, NULL, NULL, 0, &res);
  int n = rc == LDAP_SUCCESS ? ldap_count_entries(ld, res) : -1;
  if (res) ldap_msgfree(res);
  return rc == LDAP_SUCCESS && n >= min && n <= max ? 0 : -1;
}

static void *call_worker(void *arg) {
  Stats *s = arg; LDAP *ld = open_conn(); char b[256], f[256];
  if (!ld) { s->errs++; return NULL; }
  for (long i = 0;; i++) {
    double due = t_start + i * 1e6 / call_rate;
    if (due >= t_end) break;
    double late = wait_until(due);
    if (late > s->behind_max) s->behind_max = late;
    int id = rand_r(&s->seed) % phones, bad = 0;
    double t0 = now_us();
    static const char *kinds[3][2] = { { "endpoints", "AstldapPjsipEndpoint" }, { "auths", "AstldapPjsipAuth" }, { "aors", "AstldapPjsipAor" } };
    for (int k = 0; k < 3; k++) {
      snprintf(b, sizeof b, "ou=%s,ou=pjsip,%s", kinds[k][0], suffix);
      snprintf(f, sizeof f, "(&(objectClass=%s)(cn=%d))", kinds[k][1], id);
      bad |= search(ld, b, f, 1, 1);
    }
    snprintf(b, sizeof b, "ou=contacts,ou=pjsip,%s", suffix);
    snprintf(f, sizeof f, "(&(objectClass=AstldapPjsipContact)(cn=%d;@*))", id);
    bad |= search(ld, b, f, 1, 2); /* 2 for the moment between a new contact's add and the old one's delete */
    snprintf(b, sizeof b, "ou=extensions,%s", suffix);
    snprintf(f, sizeof f, "(&(objectClass=AsteriskExtension)(AstExtension=%d)(AstPriority=1)(AstContext=default))", id);
    bad |= search(ld, b, f, 1, 1);
    if (bad) s->errs++;
    else { lat_add(&s->calls, now_us() - due); lat_add(&s->calls_svc, now_us() - t0); }
  }
  ldap_unbind_ext_s(ld, NULL, NULL);
  return NULL;
}

static int modify(LDAP *ld, const char *dn, const char **attrs, char **vals, int n) {
  LDAPMod m[8], *mods[9]; char *v[8][2];
  for (int i = 0; i < n; i++) { v[i][0] = vals[i]; v[i][1] = NULL; m[i].mod_op = LDAP_MOD_REPLACE; m[i].mod_type = (char *)attrs[i]; m[i].mod_values = v[i]; mods[i] = &m[i]; }
  mods[n] = NULL;
  return ldap_modify_ext_s(ld, dn, mods, NULL, NULL) == LDAP_SUCCESS ? 0 : -1;
}

static const char *reg_attrs[] = { "AstPjsipContactExpirationTime", "AstPjsipContactViaAddr", "AstPjsipContactViaPort", "AstPjsipContactCallId", "AstAccountUserAgent", "AstAccountRegistrationServer" };

/* A new contact for phone ID (generation G): add it, then delete the one it replaces. */
static int replace_contact(LDAP *ld, int id, int g, char **vals) {
  char dn[256], old[256], cn[64], ep[32], uri[96];
  snprintf(cn, sizeof cn, "%d;@g%d", id, g);
  snprintf(dn, sizeof dn, "cn=%d\\;@g%d,ou=contacts,ou=pjsip,%s", id, g, suffix);
  snprintf(old, sizeof old, "cn=%d\\;@g%d,ou=contacts,ou=pjsip,%s", id, g - 1, suffix);
  snprintf(ep, sizeof ep, "%d", id);
  snprintf(uri, sizeof uri, "sip:%d@192.0.2.%d:5060", id, id % 250 + 1);
  char *oc[] = { "AstldapPjsipContact", NULL }, *cnv[] = { cn, NULL }, *epv[] = { ep, NULL }, *uriv[] = { uri, NULL };
  LDAPMod m[10], *mods[11]; char *v[6][2]; int k = 0;
  m[k].mod_op = LDAP_MOD_ADD; m[k].mod_type = "objectClass"; m[k].mod_values = oc; k++;
  m[k].mod_op = LDAP_MOD_ADD; m[k].mod_type = "cn"; m[k].mod_values = cnv; k++;
  m[k].mod_op = LDAP_MOD_ADD; m[k].mod_type = "AstPjsipContactEndpoint"; m[k].mod_values = epv; k++;
  m[k].mod_op = LDAP_MOD_ADD; m[k].mod_type = "AstPjsipContactUri"; m[k].mod_values = uriv; k++;
  for (int i = 0; i < 6; i++) { v[i][0] = vals[i]; v[i][1] = NULL; m[k].mod_op = LDAP_MOD_ADD; m[k].mod_type = (char *)reg_attrs[i]; m[k].mod_values = v[i]; k++; }
  for (int i = 0; i < k; i++) mods[i] = &m[i];
  mods[k] = NULL;
  if (ldap_add_ext_s(ld, dn, mods, NULL, NULL) != LDAP_SUCCESS) return -1;
  return ldap_delete_ext_s(ld, old, NULL, NULL) == LDAP_SUCCESS ? 0 : -1;
}

static void *write_worker(void *arg) {
  Stats *s = arg; LDAP *ld = open_conn(); char b[256], f[256], dn[256];
  if (!ld) { s->errs++; return NULL; }
  double rate = reg_rate + qual_rate, quals = 0;
  for (long i = 0;; i++) {
    double due = t_start + i * 1e6 / rate;
    if (due >= t_end) break;
    double late = wait_until(due);
    if (late > s->behind_max) s->behind_max = late;
    int id = rand_r(&s->seed) % phones, qual = (i + 1) * qual_rate / rate > quals + 0.5;
    if (qual) quals++;
    snprintf(dn, sizeof dn, "cn=%d\\;@g%d,ou=contacts,ou=pjsip,%s", id, gen[id], suffix);
    double t0 = now_us();
    char e[32], addr[32], port[16], callid[48], ua[32], srv[16];
    if (qual) {
      snprintf(e, sizeof e, "%u", 1000 + rand_r(&s->seed) % 4000);
      char *vals[] = { e };
      const char *attrs[] = { "AstPjsipContactQualifyTimeout" };
      if (modify(ld, dn, attrs, vals, 1)) s->errs++; else lat_add(&s->quals, now_us() - due);
      continue;
    }
    snprintf(e, sizeof e, "%ld", 1767225600L + i);
    snprintf(addr, sizeof addr, "192.0.2.%d", id % 250 + 1);
    snprintf(port, sizeof port, "%d", 5060 + rand_r(&s->seed) % 100);
    snprintf(callid, sizeof callid, "%08x-%d@phone", rand_r(&s->seed), id);
    snprintf(ua, sizeof ua, "Phone/%d.%d", 1 + rand_r(&s->seed) % 3, rand_r(&s->seed) % 10);
    snprintf(srv, sizeof srv, "pbx1");
    char *vals[] = { e, addr, port, callid, ua, srv };
    snprintf(b, sizeof b, "ou=contacts,ou=pjsip,%s", suffix);
    snprintf(f, sizeof f, "(&(objectClass=AstldapPjsipContact)(cn=%d;@g%d))", id, gen[id]);
    int bad = search(ld, b, f, 1, 1);
    if (!bad && rand_r(&s->seed) % 1000 < (unsigned)add_pm) { bad = replace_contact(ld, id, gen[id] + 1, vals); if (!bad) gen[id]++; }
    else if (!bad) bad = modify(ld, dn, reg_attrs, vals, 6);
    if (bad) s->errs++;
    else { lat_add(&s->regs, now_us() - due); lat_add(&s->regs_svc, now_us() - t0); }
  }
  ldap_unbind_ext_s(ld, NULL, NULL);
  return NULL;
}

static int cmp(const void *a, const void *b) { unsigned x = *(const unsigned *)a, y = *(const unsigned *)b; return x < y ? -1 : x > y; }
static unsigned pct(Lat *l, double p) { if (!l->n) return 0; qsort(l->lat, l->n, sizeof(unsigned), cmp); return l->lat[(long)(l->n * p)]; }

int main(int argc, char **argv) {
  int c;
  while ((c = getopt(argc, argv, "H:A:W:s:n:t:r:g:q:a:S:z:")) != -1) switch (c) {
    case 'H': url = optarg; break; case 'A': authdn = optarg; break; case 'W': authpw = optarg; break;
    case 's': suffix = optarg; break; case 'n': phones = atoi(optarg); break; case 't': seconds = atoi(optarg); break;
    case 'r': call_rate = atof(optarg); break; case 'g': reg_rate = atof(optarg); break; case 'q': qual_rate = atof(optarg); break;
    case 'a': add_pm = atoi(optarg); break;
    case 'S': state_file = optarg; break; case 'z': seed = (unsigned)atol(optarg); break;
    default: fprintf(stderr, "usage: pbxload -H url -A authdn -W pw -s suffix -n phones -t secs [-r calls/s -g regs/s -q quals/s -a adds-per-mille]\n"); return 2;
  }
  if (seconds < 1 || seconds > 300 || phones < 1 || call_rate <= 0 || call_rate > 5000 || reg_rate < 0 || qual_rate < 0 || reg_rate + qual_rate > 5000) {
    fprintf(stderr, "bounds: 1<=t<=300, call rate in (0, 5000], write rates in [0, 5000]\n");
    return 2;
  }
  Stats cs, ws;
  memset(&cs, 0, sizeof cs); memset(&ws, 0, sizeof ws);
  cs.seed = seed * 2 + 1; ws.seed = seed * 2 + 2;
  gen = calloc(phones, sizeof(int));
  FILE *sf = state_file ? fopen(state_file, "rb") : NULL;
  if (sf) { if (fread(gen, sizeof(int), phones, sf) != (size_t)phones) memset(gen, 0, sizeof(int) * phones); fclose(sf); }
  lat_init(&cs.calls, (long)(call_rate * seconds) + 16);
  lat_init(&cs.calls_svc, (long)(call_rate * seconds) + 16);
  lat_init(&ws.regs, (long)((reg_rate + qual_rate) * seconds) + 16);
  lat_init(&ws.regs_svc, (long)((reg_rate + qual_rate) * seconds) + 16);
  lat_init(&ws.quals, (long)((reg_rate + qual_rate) * seconds) + 16);
  t_start = now_us() + 200000; /* both connections bound before the clock starts */
  t_end = t_start + seconds * 1e6;
  pthread_t a, b;
  pthread_create(&a, NULL, call_worker, &cs);
  if (reg_rate + qual_rate > 0) pthread_create(&b, NULL, write_worker, &ws);
  pthread_join(a, NULL);
  if (reg_rate + qual_rate > 0) pthread_join(b, NULL);
  if (state_file && (sf = fopen(state_file, "wb"))) { fwrite(gen, sizeof(int), phones, sf); fclose(sf); }
  Lat writes; lat_init(&writes, ws.regs.n + ws.quals.n + 1);
  memcpy(writes.lat, ws.regs.lat, sizeof(unsigned) * ws.regs.n);
  memcpy(writes.lat + ws.regs.n, ws.quals.lat, sizeof(unsigned) * ws.quals.n);
  writes.n = ws.regs.n + ws.quals.n;
  double behind = cs.behind_max > ws.behind_max ? cs.behind_max : ws.behind_max;
  long calls = cs.calls.n, regs = ws.regs.n, qn = ws.quals.n;
  unsigned c50 = pct(&cs.calls, 0.5), c99 = pct(&cs.calls, 0.99), r50 = pct(&ws.regs, 0.5), r99 = pct(&ws.regs, 0.99);
  unsigned q50 = pct(&ws.quals, 0.5), q99 = pct(&ws.quals, 0.99), w99 = pct(&writes, 0.99);
  unsigned cs50 = pct(&cs.calls_svc, 0.5), cs99 = pct(&cs.calls_svc, 0.99), rs99 = pct(&ws.regs_svc, 0.99);
  printf("calls=%ld call_p50_us=%u call_p99_us=%u regs=%ld reg_p50_us=%u reg_p99_us=%u quals=%ld qual_p50_us=%u qual_p99_us=%u write_p99_us=%u errors=%ld behind_max_us=%.0f "
         "call_svc_p50_us=%u call_svc_p99_us=%u reg_svc_p99_us=%u\n",
         calls, c50, c99, regs, r50, r99, qn, q50, q99, w99, cs.errs + ws.errs, behind, cs50, cs99, rs99);
  return cs.errs + ws.errs && !calls;
}
