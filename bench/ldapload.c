/* ldapload: a small, neutral LDAP load generator on libldap (OpenLDAP's client library).
 * One thread per connection; each keeps DEPTH requests outstanding for SECONDS, then prints
 * one line: op conns depth ops/s p50_us p99_us errors total.
 * Build: cc -O2 -o ldapload ldapload.c -lldap -llber -lpthread
 * Ops:  search  subtree search under BASE for FILTER with %d = random 0..N-1, all attributes,
 *               exactly one entry expected (-e N: N entries), else counted as an error
 * (A copy of ../shared/bench/ldapload.c with three changes: -e for multi-entry loads, -x COUNT
 * (each connection stops after COUNT requests: a fixed amount of work to measure CPU around), and the
 * clock read before a request is sent, not after: a client descheduled right after sending,
 * common on a loaded 2-core machine, otherwise records a near-zero latency for a fast server.)
 *       bind    simple bind as BINDDN/BINDPW templates (%d as above), depth forced to 1
 *       base    base search of the root DSE
 *       modify  replace ATTR with a random value on the DN template BINDDN (%d as above) */
#define LDAP_DEPRECATED 0
#include <ldap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *url = "ldap://127.0.0.1:3891", *op = "search";
static const char *base = "ou=people,dc=example,dc=com", *filter = "(uid=user%d)";
static const char *binddn = "uid=user%d,ou=people,dc=example,dc=com", *bindpw = "pw%d";
static const char *authdn = NULL, *authpw = NULL, *attr = "description";
static int conns = 1, depth = 1, seconds = 10, n = 100000, expect = 1; /* -e: entries a search must return */
static long limit = 0; /* -x: requests per connection, then stop (0: run for SECONDS) */
static volatile int stop = 0;

typedef struct { long ops, errs, cap, len; unsigned *lat; unsigned seed; } Stats;

static double now_us(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e6 + t.tv_nsec / 1e3; }

static void record(Stats *s, double us) {
  if (s->len < s->cap) s->lat[s->len++] = (unsigned)us;
  s->ops++;
}

static LDAP *open_conn(void) {
  LDAP *ld; int v = LDAP_VERSION3;
  if (ldap_initialize(&ld, url) != LDAP_SUCCESS) return NULL;
  ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v);
  if (authdn) {
    struct berval pw = { strlen(authpw), (char *)authpw };
    if (ldap_sasl_bind_s(ld, authdn, LDAP_SASL_SIMPLE, &pw, NULL, NULL, NULL) != LDAP_SUCCESS) { ldap_unbind_ext_s(ld, NULL, NULL); return NULL; }
  } else if (strcmp(op, "bind") != 0) {
    struct berval pw = { 0, "" };
    ldap_sasl_bind_s(ld, "", LDAP_SASL_SIMPLE, &pw, NULL, NULL, NULL);
  }
  return ld;
}

static int send_one(LDAP *ld, Stats *s) {
  char buf[512], val[64]; int id = rand_r(&s->seed) % n, msgid = -1, rc;
  if (!strcmp(op, "search")) {
    snprintf(buf, sizeof buf, filter, id);
    rc = ldap_search_ext(ld, base, LDAP_SCOPE_SUBTREE, buf, NULL, 0, NULL, NULL, NULL, 0, &msgid);
  } else if (!strcmp(op, "base")) {
    rc = ldap_search_ext(ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", NULL, 0, NULL, NULL, NULL, 0, &msgid);
  } else if (!strcmp(op, "bind")) {
    char pw[128]; snprintf(buf, sizeof buf, binddn, id); snprintf(pw, sizeof pw, bindpw, id);
    struct berval cred = { strlen(pw), pw };
    rc = ldap_sasl_bind(ld, buf, LDAP_SASL_SIMPLE, &cred, NULL, NULL, &msgid);
  } else {
    snprintf(buf, sizeof buf, binddn, id); snprintf(val, sizeof val, "v%u", rand_r(&s->seed));
    char *vals[] = { val, NULL }; LDAPMod m = { LDAP_MOD_REPLACE, (char *)attr, { vals } }; LDAPMod *mods[] = { &m, NULL };
    rc = ldap_modify_ext(ld, buf, mods, NULL, NULL, &msgid);
  }
  return rc == LDAP_SUCCESS ? msgid : -1;
}

static void *worker(void *arg) {
  Stats *s = arg; LDAP *ld = open_conn(); double start[65536];
  if (!ld) { s->errs++; return NULL; }
  int outstanding = 0;
  for (int i = 0; i < depth && (!limit || i < limit); i++) { double t0 = now_us(); int id = send_one(ld, s); if (id < 0) { s->errs++; break; } start[id & 65535] = t0; outstanding++; }
  while (outstanding > 0) {
    LDAPMessage *res = NULL; struct timeval tv = { 5, 0 };
    int t = ldap_result(ld, LDAP_RES_ANY, LDAP_MSG_ALL, &tv, &res);
    if (t <= 0) { s->errs++; break; }
    int id = ldap_msgid(res), rc = -1, entries = ldap_count_entries(ld, res);
    ldap_parse_result(ld, res, &rc, NULL, NULL, NULL, NULL, 0); /* walks past entries to the result */
    if (t == LDAP_RES_SEARCH_RESULT && !strcmp(op, "search") && entries != expect) rc = -2;
    if (rc == LDAP_SUCCESS) record(s, now_us() - start[id & 65535]); else s->errs++;
    ldap_msgfree(res); outstanding--;
    if (limit && s->ops + s->errs + outstanding >= limit) continue;
    if (!stop) { double t0 = now_us(); int nid = send_one(ld, s); if (nid >= 0) { start[nid & 65535] = t0; outstanding++; } else s->errs++; }
  }
  ldap_unbind_ext_s(ld, NULL, NULL);
  return NULL;
}

static int cmp(const void *a, const void *b) { unsigned x = *(const unsigned *)a, y = *(const unsigned *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  int c;
  while ((c = getopt(argc, argv, "H:o:c:k:t:n:b:f:D:w:A:W:a:e:x:")) != -1) switch (c) {
    case 'H': url = optarg; break; case 'o': op = optarg; break; case 'c': conns = atoi(optarg); break;
    case 'k': depth = atoi(optarg); break; case 't': seconds = atoi(optarg); break; case 'n': n = atoi(optarg); break;
    case 'b': base = optarg; break; case 'f': filter = optarg; break; case 'D': binddn = optarg; break;
    case 'w': bindpw = optarg; break; case 'A': authdn = optarg; break; case 'W': authpw = optarg; break; case 'a': attr = optarg; break; case 'e': expect = atoi(optarg); break;
    case 'x': limit = atol(optarg); break;
    default: fprintf(stderr, "usage: ldapload -H url -o search|bind|base|modify -c conns -k depth -t secs -n N [-b base -f filter -D dn -w pw -A authdn -W authpw -a attr -e entries -x count]\n"); return 2;
  }
  if (seconds < 1 || seconds > 120 || conns < 1 || conns > 256 || depth < 1 || depth > 64) { fprintf(stderr, "bounds: 1<=t<=120, 1<=c<=256, 1<=k<=64\n"); return 2; }
  if (!strcmp(op, "bind")) depth = 1;
  pthread_t th[256]; Stats st[256];
  for (int i = 0; i < conns; i++) { memset(&st[i], 0, sizeof st[i]); st[i].cap = 4000000 / conns; st[i].lat = malloc(sizeof(unsigned) * st[i].cap); st[i].seed = 12345 + i; pthread_create(&th[i], NULL, worker, &st[i]); }
  double t0 = now_us();
  if (limit) { /* count mode: each connection stops after LIMIT requests, or at SECONDS at the latest */
    while (now_us() - t0 < seconds * 1e6) {
      long done = 0;
      for (int i = 0; i < conns; i++) done += st[i].ops + st[i].errs >= limit;
      if (done == conns) break;
      usleep(1000);
    }
  } else sleep(seconds);
  stop = 1;
  long ops = 0, errs = 0, len = 0;
  for (int i = 0; i < conns; i++) { pthread_join(th[i], NULL); ops += st[i].ops; errs += st[i].errs; len += st[i].len; }
  double el = (now_us() - t0) / 1e6;
  unsigned *all = malloc(sizeof(unsigned) * (len ? len : 1)); long k = 0;
  for (int i = 0; i < conns; i++) { memcpy(all + k, st[i].lat, sizeof(unsigned) * st[i].len); k += st[i].len; }
  qsort(all, len, sizeof(unsigned), cmp);
  printf("%s conns=%d depth=%d ops/s=%.0f p50_us=%u p99_us=%u errors=%ld total=%ld\n", op, conns, depth, ops / el,
         len ? all[len / 2] : 0, len ? all[(long)(len * 0.99)] : 0, errs, ops);
  return errs && !ops;
}
