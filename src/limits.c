/* Per-address caps and the memory budget (internal/limits.h), shared by the
 * event loop's server and the blocking listener. */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "internal/alloc.h"
#include "internal/limits.h"
#include "internal/parser.h"
#include "zws/common.h"

struct zws__addr_count {
    uint8_t ip[16];
    int handshakes, conns;
    zws__addr_count *next;
};

int zws__limits_new(zws__limits **out, int per_addr_hs, int per_addr_conns, size_t budget)
{
    zws__limits *l = zws__malloc(sizeof *l);
    if (!l)
        return ZWS_ENOMEM;
    memset(l, 0, sizeof *l);
    atomic_init(&l->refs, 1);
    atomic_init(&l->used, 0);
    atomic_init(&l->peak, 0);
    l->per_addr_hs = per_addr_hs > 0 ? per_addr_hs : 0;
    l->per_addr_conns = per_addr_conns > 0 ? per_addr_conns : 0;
    l->budget = budget;
    pthread_mutex_init(&l->lock, NULL);
    *out = l;
    return 0;
}

zws__limits *zws__limits_ref(zws__limits *l)
{
    atomic_fetch_add_explicit(&l->refs, 1, memory_order_relaxed);
    return l;
}

void zws__limits_unref(zws__limits *l)
{
    if (!l || atomic_fetch_sub_explicit(&l->refs, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < ZWS__ADDR_BUCKETS; i++)
        while (l->b[i]) {
            zws__addr_count *a = l->b[i];
            l->b[i] = a->next;
            zws__free(a);
        }
    pthread_mutex_destroy(&l->lock);
    zws__free(l);
}

static size_t addr_hash(const uint8_t ip[16])
{
    uint64_t a, b;
    memcpy(&a, ip, 8);
    memcpy(&b, ip + 8, 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
    return (size_t)(h >> 40) % ZWS__ADDR_BUCKETS;
}

/* The peer's address as 16 bytes (IPv4 as v4-mapped); 0, or -1 for a peer
 * without one (a unix socket). */
static int peer_ip(int fd, uint8_t ip[16])
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    memset(ip, 0, 16);
    if (getpeername(fd, (struct sockaddr *)&ss, &len))
        return 0; /* counted as the all-zero address, as the loop always did */
    if (ss.ss_family == AF_INET6) {
        memcpy(ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
    } else if (ss.ss_family == AF_INET) {
        ip[10] = ip[11] = 0xff;
        memcpy(ip + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
    } else {
        return -1;
    }
    return 0;
}

int zws__limits_take(zws__limits *l, int fd, zws__addr_count **out)
{
    *out = NULL;
    uint8_t ip[16];
    if ((!l->per_addr_hs && !l->per_addr_conns) || peer_ip(fd, ip))
        return 0;
    size_t h = addr_hash(ip);
    int r = 0;
    pthread_mutex_lock(&l->lock);
    zws__addr_count *a = l->b[h];
    while (a && memcmp(a->ip, ip, 16))
        a = a->next;
    if (!a && (a = zws__malloc(sizeof *a)) != NULL) {
        memset(a, 0, sizeof *a);
        memcpy(a->ip, ip, 16);
        a->next = l->b[h];
        l->b[h] = a;
    }
    if (!a)
        r = ZWS_ENOMEM;
    else if (l->per_addr_conns && a->conns >= l->per_addr_conns)
        r = ZWS__ADDR_CONNS;
    else if (l->per_addr_hs && a->handshakes >= l->per_addr_hs)
        r = ZWS__ADDR_HANDSHAKES;
    if (!r) {
        a->conns++;
        a->handshakes++;
        *out = a;
    } else if (a && a->conns == 0) { /* made for this one: not kept */
        l->b[h] = a->next;
        zws__free(a);
    }
    pthread_mutex_unlock(&l->lock);
    return r;
}

void zws__limits_handshake_done(zws__limits *l, zws__addr_count *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&l->lock);
    a->handshakes--;
    pthread_mutex_unlock(&l->lock);
}

void zws__limits_release(zws__limits *l, zws__addr_count *a, int in_handshake)
{
    if (!a)
        return;
    pthread_mutex_lock(&l->lock);
    if (in_handshake)
        a->handshakes--;
    if (--a->conns == 0) {
        zws__addr_count **p = &l->b[addr_hash(a->ip)];
        while (*p != a)
            p = &(*p)->next;
        *p = a->next;
        zws__free(a);
    }
    pthread_mutex_unlock(&l->lock);
}

int zws__limits_charge(zws__limits *l, size_t *charged, size_t usage)
{
    size_t now = usage >= ZWS__CHARGE_MIN ? usage : 0;
    if (now == *charged)
        return 0;
    if (now < *charged) {
        atomic_fetch_sub(&l->used, *charged - now);
        *charged = now;
        return 0;
    }
    size_t total = atomic_fetch_add(&l->used, now - *charged) + (now - *charged);
    *charged = now;
    size_t peak = atomic_load(&l->peak);
    while (total > peak && !atomic_compare_exchange_weak(&l->peak, &peak, total))
        ;
    return l->budget && total > l->budget;
}

void zws__limits_uncharge(zws__limits *l, size_t *charged)
{
    if (*charged)
        atomic_fetch_sub(&l->used, *charged);
    *charged = 0;
}

size_t zws__session_held(const zws__session *s)
{
    return zws__session_pending(s) + (s->p ? zws__parser_held(s->p) : 0);
}

uint16_t zws__session_budget_code(const zws__session *s)
{
    int msg = s->p && zws__parser_held(s->p) > zws__session_pending(s);
    return msg ? ZWS_CLOSE_TOO_BIG : ZWS_CLOSE_POLICY;
}
