/* The loop: one pass is wait -> dispatch -> timers -> flush -> free.
 *
 * Sends made while dispatching only queue output and put the connection on
 * the dirty list; the flush at the end of the pass writes each dirty
 * connection once (corked writes), after calling its drain handler when a
 * write made one due, so what the handler sends goes out in that write.
 * Connections closed during the pass are freed after it, so a readiness
 * entry of the same batch never sees freed memory. Timers live on a wheel
 * (ZWS__TICK_MS slots): arming one is a list insert, and a deadline that
 * only moves later (idle, keepalive: every input moves them) costs nothing
 * until its slot comes round. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal/alloc.h"
#include "internal/deflate.h"
#include "internal/loop.h"

static _Thread_local zws_loop *current;

zws_loop *zws__loop_current(void) { return current; }

/* ---- ids: connection id -> zws_ws, open addressing ----
 *
 * Slots hold only the connection (its id is read from it): 8 bytes a slot
 * for every idle connection rather than 16. */

static char tombstone_; /* a deleted slot */
#define TOMB ((zws_ws *)(void *)&tombstone_)

struct zws__idmap {
    zws_ws **vals;    /* NULL empty, TOMB deleted */
    size_t cap, used; /* used counts deleted slots too */
};

static size_t id_slot(uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

static int ids_grow(struct zws__idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    zws_ws **v = zws__malloc(cap * sizeof *v);
    if (!v)
        return ZWS_ENOMEM;
    memset(v, 0, cap * sizeof *v);
    size_t used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        zws_ws *ws = m->vals[i];
        if (!ws || ws == TOMB)
            continue;
        size_t j = id_slot(ws->id, cap);
        while (v[j])
            j = (j + 1) & (cap - 1);
        v[j] = ws;
        used++;
    }
    zws__free(m->vals);
    m->vals = v;
    m->cap = cap;
    m->used = used;
    return 0;
}

int zws__ids_put(zws_loop *l, zws_ws *ws)
{
    struct zws__idmap *m = l->ids;
    if ((m->used + 1) * 4 > m->cap * 3 && ids_grow(m))
        return ZWS_ENOMEM;
    size_t j = id_slot(ws->id, m->cap);
    while (m->vals[j] && m->vals[j] != TOMB)
        j = (j + 1) & (m->cap - 1);
    if (!m->vals[j])
        m->used++;
    m->vals[j] = ws;
    return 0;
}

static size_t ids_find(const struct zws__idmap *m, uint64_t id)
{
    if (!m->cap)
        return SIZE_MAX;
    for (size_t j = id_slot(id, m->cap);; j = (j + 1) & (m->cap - 1)) {
        zws_ws *ws = m->vals[j];
        if (!ws)
            return SIZE_MAX;
        if (ws != TOMB && ws->id == id)
            return j;
    }
}

void zws__ids_del(zws_loop *l, uint64_t id)
{
    size_t j = ids_find(l->ids, id);
    if (j != SIZE_MAX)
        l->ids->vals[j] = TOMB;
}

zws_ws *zws__ids_get(zws_loop *l, uint64_t id)
{
    size_t j = ids_find(l->ids, id);
    return j == SIZE_MAX ? NULL : l->ids->vals[j];
}

/* ---- construction ---- */

int zws__loop_new(zws_loop **out, zws_server *srv, int index, const zws__backend *be)
{
    zws_loop *l = zws__malloc(sizeof *l);
    if (!l)
        return ZWS_ENOMEM;
    memset(l, 0, sizeof *l);
    l->srv = srv;
    l->index = index;
    l->be = be;
    l->listen_fd = l->wake_fd = -1;
    pthread_mutex_init(&l->tlock, NULL);
    int r = ZWS_ENOMEM;
    l->rbuf = zws__malloc_paged(ZWS__RBUF_SIZE + ZWS__RBUF_PAD);
    l->ids = zws__malloc(sizeof *l->ids);
    if (l->rbuf && l->ids) {
        memset(l->ids, 0, sizeof *l->ids);
        r = zws__keypool_new(&l->keys);
    }
    if (!r) {
        l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        r = l->wake_fd < 0 ? ZWS_EIO : 0;
    }
    if (r) {
        zws__loop_free(l);
        return r;
    }
    *out = l;
    return 0;
}

void zws__loop_free(zws_loop *l)
{
    if (!l)
        return;
    if (l->be_state)
        l->be->free(l); /* no operation is in flight after this */
    while (l->zombies) {
        zws_ws *ws = l->zombies;
        l->zombies = ws->next;
        zws__ws_free(ws);
    }
    while (l->conns) {
        zws_ws *ws = l->conns;
        l->conns = ws->next;
        zws__ws_free(ws);
    }
    for (size_t i = 0; i < l->ntasks; i++) /* posted after the loop ended */
        l->tasks[i].fn(NULL, l->tasks[i].arg);
    for (size_t i = 0; i < l->nutimers; i++)
        l->utimers[i].fn(NULL, l->utimers[i].arg);
    zws__free(l->utimers);
    zws__free(l->tasks);
    zws__topics_free(l->topics);
    if (l->ids) {
        zws__free(l->ids->vals);
        zws__free(l->ids);
    }
    zws__keypool_free(l->keys);
    zws__free_paged(l->rbuf);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    if (l->listen_fd >= 0)
        close(l->listen_fd);
    pthread_mutex_destroy(&l->tlock);
    zws__free(l);
}

/* ---- connections ---- */

void zws__loop_add(zws_loop *l, zws_ws *ws)
{
    ws->loop = l;
    ws->next = l->conns;
    if (l->conns)
        l->conns->prev = ws;
    l->conns = ws;
    l->nconns++;
}

void zws__ws_dirty(zws_ws *ws)
{
    if (ws->flags & (ZWS__F_DIRTY | ZWS__F_DEAD))
        return;
    ws->flags |= ZWS__F_DIRTY;
    ws->dnext = ws->loop->dirty;
    ws->loop->dirty = ws;
}

/* ---- the timer wheel ---- */

/* The same for a time and for its low 32 bits: 2^32 is a multiple of
 * ZWS__TICK_MS * ZWS__WHEEL. */
static size_t slot_of(uint64_t t) { return (size_t)(t / ZWS__TICK_MS) % ZWS__WHEEL; }
_Static_assert((1ull << 32) % ((uint64_t)ZWS__TICK_MS * ZWS__WHEEL) == 0, "slot_of");

/* The list ws is on: a slot's, or the one being fired. */
static zws_ws **list_of(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    return (ws->flags & ZWS__F_FIRING) ? &l->firing : &l->wheel[slot_of(ws->sched)];
}

static void wheel_unlink(zws_ws *ws)
{
    if (!(ws->flags & (ZWS__F_INLIST | ZWS__F_FIRING)))
        return;
    if (ws->tprev)
        ws->tprev->tnext = ws->tnext;
    else
        *list_of(ws) = ws->tnext;
    if (ws->tnext)
        ws->tnext->tprev = ws->tprev;
    ws->tprev = ws->tnext = NULL;
    ws->flags &= ~(ZWS__F_INLIST | ZWS__F_FIRING);
    ws->loop->ntimers--;
}

void zws__ws_schedule(zws_ws *ws)
{
    if (ws->flags & ZWS__F_DEAD)
        return;
    int64_t d = zws__ws_deadline(ws);
    if (d < 0)
        return; /* a stale slot entry is dropped when visited */
    if (ws->flags & ZWS__F_INLIST) {
        if (d >= zws__ms32_at(ws->sched, ws->loop->now))
            return; /* visited at its old time, then moved on */
    }
    wheel_unlink(ws);
    zws_loop *l = ws->loop;
    /* Within one round of the wheel, so a slot holds only what is due when
     * it is visited; a later deadline is looked at again then, and moved. */
    int64_t last = l->wheel_at + (int64_t)(ZWS__WHEEL - 1) * ZWS__TICK_MS;
    if (d > last)
        d = last;
    if (d < l->wheel_at) /* the past goes to the next slot visited */
        d = l->wheel_at;
    zws_ws **head = &l->wheel[slot_of((uint64_t)d)];
    ws->sched = zws__ms32_of(d);
    ws->tprev = NULL;
    ws->tnext = *head;
    if (ws->tnext)
        ws->tnext->tprev = ws;
    *head = ws;
    ws->flags |= ZWS__F_INLIST;
    l->ntimers++;
}

/* Visits the slots up to now: expired deadlines fire; others (a deadline
 * that moved later, or was clamped to the round) go back on the wheel. A
 * slot's list becomes the firing list and is popped one entry at a time, so
 * handlers may close, reschedule or touch any connection meanwhile. */
static void wheel_advance(zws_loop *l)
{
    if (!l->ntimers) {
        l->wheel_at = (l->now / ZWS__TICK_MS + 1) * ZWS__TICK_MS;
        return;
    }
    size_t visits = 0;
    while (l->wheel_at <= l->now && visits++ < ZWS__WHEEL) {
        size_t s = slot_of((uint64_t)l->wheel_at);
        l->firing = l->wheel[s];
        l->wheel[s] = NULL;
        for (zws_ws *ws = l->firing; ws; ws = ws->tnext)
            ws->flags = (ws->flags & ~ZWS__F_INLIST) | ZWS__F_FIRING;
        l->wheel_at += ZWS__TICK_MS;
        zws_ws *ws;
        while ((ws = l->firing) != NULL) {
            wheel_unlink(ws);
            int64_t d = zws__ws_deadline(ws);
            if (d >= 0 && d <= l->now)
                zws__ws_timeout(ws);
            zws__ws_schedule(ws);
        }
    }
    if (l->wheel_at <= l->now) /* slept past a whole round: every slot seen */
        l->wheel_at = (l->now / ZWS__TICK_MS + 1) * ZWS__TICK_MS;
}

/* ---- posting ---- */

void zws__loop_wake(zws_loop *l)
{
    if (atomic_exchange(&l->woken, 1))
        return;
    uint64_t one = 1;
    ssize_t n = write(l->wake_fd, &one, sizeof one);
    (void)n; /* EAGAIN: the counter is already non-zero, a wake is pending */
}

int zws_loop_post(zws_loop *l, void (*fn)(zws_loop *, void *), void *arg)
{
    pthread_mutex_lock(&l->tlock);
    if (l->ntasks == l->tasks_cap) {
        size_t cap = l->tasks_cap ? l->tasks_cap * 2 : 16;
        zws__task *t = zws__realloc(l->tasks, cap * sizeof *t);
        if (!t) {
            pthread_mutex_unlock(&l->tlock);
            return ZWS_ENOMEM;
        }
        l->tasks = t;
        l->tasks_cap = cap;
    }
    l->tasks[l->ntasks++] = (zws__task){fn, arg};
    pthread_mutex_unlock(&l->tlock);
    zws__loop_wake(l);
    return 0;
}

void zws__loop_run_tasks(zws_loop *l)
{
    uint64_t v;
    while (read(l->wake_fd, &v, sizeof v) > 0)
        ;
    atomic_store(&l->woken, 0);
    pthread_mutex_lock(&l->tlock);
    zws__task *tasks = l->tasks;
    size_t n = l->ntasks;
    l->tasks = NULL;
    l->ntasks = l->tasks_cap = 0;
    pthread_mutex_unlock(&l->tlock);
    for (size_t i = 0; i < n; i++)
        tasks[i].fn(l, tasks[i].arg);
    zws__free(tasks);
}

zws_server *zws_loop_server(const zws_loop *l) { return l->srv; }

/* ---- writing and closing ---- */

void zws__ws_want_out(zws_ws *ws, int on)
{
    if (on == !!(ws->flags & ZWS__F_OUT))
        return;
    ws->flags ^= ZWS__F_OUT;
    ws->loop->be->want_out(ws->loop, ws, on);
}

void zws__ws_write(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    if (!ws->s.live) /* nothing was ever queued (a late readiness event) */
        return;
    for (;;) {
        struct iovec v[64];
        int k = zws__session_iov(&ws->s, v, 64);
        if (!k)
            break;
        size_t want = 0;
        for (int i = 0; i < k; i++)
            want += v[i].iov_len;
        ptrdiff_t n = zws__transport_writev(&ws->tr, v, k, 0);
        if (n == ZWS_EAGAIN) {
            n = 0;
        } else if (n < 0) {
            zws__ws_kill(ws, ZWS_CLOSE_ABNORMAL, "write failed");
            return;
        }
        if (n > 0) {
            zws__session_sent(&ws->s, (size_t)n);
            ws->flags |= ZWS__F_MOVED;
            zws__ws_set_stall(ws, -1);
            ws->last_write = zws__ms32_of(l->now);
        }
        /* A short write means the socket is full: wait for it instead of
         * asking again for an EAGAIN. TLS holding a record counts too. */
        if ((size_t)n < want || (ws->tr.x && ws->tr.x->wretry)) {
            if (!(ws->flags & ZWS__F_STALL))
                zws__ws_set_stall(ws, l->now);
            zws__ws_want_out(ws, 1);
            zws__ws_schedule(ws);
            zws__ws_after_write(ws);
            return;
        }
    }
    zws__ws_set_stall(ws, -1);
    zws__ws_want_out(ws, 0);
    zws__ws_after_write(ws);
}

void zws__ws_again(zws_ws *ws)
{
    if (ws->flags & ZWS__F_AGAIN)
        return;
    ws->flags |= ZWS__F_AGAIN;
    ws->anext = ws->loop->again;
    ws->loop->again = ws;
}

/* Reads what connections left unread in the last pass. */
static void read_again(zws_loop *l)
{
    zws_ws *ws = l->again;
    l->again = NULL; /* what this adds waits for the next pass */
    while (ws) {
        zws_ws *next = ws->anext;
        ws->anext = NULL;
        ws->flags &= ~ZWS__F_AGAIN;
        if (!(ws->flags & ZWS__F_DEAD))
            zws__ws_readable(ws);
        ws = next;
    }
}

static void wheel_and_lists_drop(zws_ws *ws)
{
    zws_loop *l = ws->loop;
    wheel_unlink(ws);
    if (ws->flags & ZWS__F_AGAIN) { /* off the again list before it is freed */
        zws_ws **pp = &l->again;
        while (*pp && *pp != ws)
            pp = &(*pp)->anext;
        if (*pp)
            *pp = ws->anext;
        ws->flags &= ~ZWS__F_AGAIN;
    }
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        l->conns = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    ws->prev = ws->next = NULL;
    l->nconns--;
}

void zws__ws_kill(zws_ws *ws, uint16_t code, const char *why)
{
    if (ws->flags & ZWS__F_DEAD)
        return;
    zws_loop *l = ws->loop;
    if (ws->flags & ZWS__F_OPENED) {
        ws->flags &= ~ZWS__F_OPENED;
        if (ws->route && ws->route->h.close)
            ws->route->h.close(ws, code, why, why ? strlen(why) : 0);
    }
    zws__ws_unsubscribe_all(ws);
    if (ws->id)
        zws__ids_del(l, ws->id);
    l->be->del(l, ws);
    ws->flags |= ZWS__F_DEAD;
    wheel_and_lists_drop(ws);
    ws->tnext = l->dead; /* the dead list reuses the wheel link */
    l->dead = ws;
}

/* Off the dirty list: one the flush of this pass left for the next. */
static void dirty_drop(zws_ws *ws)
{
    zws_ws **pp = &ws->loop->dirty;
    while (*pp && *pp != ws)
        pp = &(*pp)->dnext;
    if (*pp)
        *pp = ws->dnext;
    ws->dnext = NULL;
    ws->flags &= ~ZWS__F_DIRTY;
}

static void free_dead(zws_loop *l)
{
    while (l->dead) {
        zws_ws *ws = l->dead;
        l->dead = ws->tnext;
        if (ws->flags & ZWS__F_DIRTY)
            dirty_drop(ws);
        if (!ws->inflight) {
            zws__ws_free(ws);
            continue;
        }
        ws->prev = NULL; /* io_uring still names it: wait for the last CQE */
        ws->next = l->zombies;
        if (l->zombies)
            l->zombies->prev = ws;
        l->zombies = ws;
    }
}

void zws__ws_op_done(zws_ws *ws)
{
    if (--ws->inflight || !(ws->flags & ZWS__F_DEAD))
        return;
    zws_loop *l = ws->loop;
    for (zws_ws *d = l->dead; d; d = d->tnext)
        if (d == ws)
            return; /* still on the dead list: free_dead frees it */
    if (ws->prev)
        ws->prev->next = ws->next;
    else
        l->zombies = ws->next;
    if (ws->next)
        ws->next->prev = ws->prev;
    zws__ws_free(ws);
}

void zws__loop_flush_dirty(zws_loop *l)
{
    zws_ws *ws = l->dirty;
    l->dirty = NULL; /* what is dirtied from here on waits for the next pass */
    while (ws) {
        zws_ws *next = ws->dnext;
        ws->dnext = NULL;
        /* still marked dirty while its handler runs: what it sends on ws
         * goes out with the write below */
        if (ws->flags & ZWS__F_DRAINQ) /* zws__ws_drain checks the rest */
            zws__ws_drain(ws);
        ws->flags &= ~ZWS__F_DIRTY;
        if (!(ws->flags & ZWS__F_DEAD))
            zws__ws_write(ws);
        ws = next;
    }
}

/* Once a second: connections that wrote nothing for a second give back
 * their writer (its buffer with it) and the compression streams of
 * directions without context takeover; those that read nothing for a
 * second, their parser (between messages). An idle connection then holds
 * neither. Freeing them after every message instead would cost a malloc, a
 * free and often a brk per message. */
static void sweep_idle(zws_loop *l)
{
    for (zws_ws *ws = l->conns; ws; ws = ws->next) {
        if (!ws->s.live || (ws->flags & ZWS__F_DIRTY))
            continue;
        if (zws__ms32_since(ws->s.last_input, l->now) >= 1000)
            zws__session_trim_input(&ws->s);
        if (zws__ms32_since(ws->last_write, l->now) < 1000 || zws__session_pending(&ws->s) != 0)
            continue;
        zws__session_trim_output(&ws->s);
        if (ws->s.deflate)
            zws__deflate_trim(ws->s.deflate);
    }
    l->next_sweep = l->now + 1000;
}

/* ---- zws_loop_timer: a binary heap, few entries, exact to the ms ---- */

static int ut_before(const zws__utimer *a, const zws__utimer *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void ut_push(zws_loop *l, zws__utimer t)
{
    size_t i = l->nutimers++;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!ut_before(&t, &l->utimers[up]))
            break;
        l->utimers[i] = l->utimers[up];
        i = up;
    }
    l->utimers[i] = t;
}

static zws__utimer ut_pop(zws_loop *l)
{
    zws__utimer top = l->utimers[0], last = l->utimers[--l->nutimers];
    size_t i = 0, n = l->nutimers;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ut_before(&l->utimers[c + 1], &l->utimers[c]))
            c++;
        if (!ut_before(&l->utimers[c], &last))
            break;
        l->utimers[i] = l->utimers[c];
        i = c;
    }
    if (n)
        l->utimers[i] = last;
    return top;
}

int zws_loop_timer(zws_loop *l, int ms, int (*fn)(zws_loop *, void *), void *arg)
{
    if (l->nutimers == l->utimers_cap) {
        size_t cap = l->utimers_cap ? l->utimers_cap * 2 : 8;
        zws__utimer *t = zws__realloc(l->utimers, cap * sizeof *t);
        if (!t)
            return ZWS_ENOMEM;
        l->utimers = t;
        l->utimers_cap = cap;
    }
    ut_push(l, (zws__utimer){l->now + (ms > 0 ? ms : 0), l->utimer_seq++, fn, arg});
    return 0;
}

int64_t zws_loop_now(const zws_loop *l) { return l->now; }
int zws_loop_index(const zws_loop *l) { return l->index; }
uint64_t zws_loop_bytes_in(const zws_loop *l) { return l->ws_bytes_in; }

/* Fires the timers due by now. A re-armed timer is at least 1 ms later, so
 * timers cannot keep a pass from ending. */
static void run_utimers(zws_loop *l)
{
    int64_t now = l->now;
    while (l->nutimers && l->utimers[0].at <= now) {
        zws__utimer t = ut_pop(l);
        int next = t.fn(l, t.arg);
        if (next > 0) {
            t.at = now + next;
            t.seq = l->utimer_seq++;
            ut_push(l, t); /* the slot ut_pop freed */
        }
    }
}

/* ---- the pass ---- */

static int wait_ms(const zws_loop *l)
{
    if (l->dirty || l->dead || l->again)
        return 0;
    int ms = -1;
    if (l->ntimers) {
        int64_t left = l->wheel_at - l->now;
        ms = left < 0 ? 0 : (int)left;
    }
    if (l->nutimers) {
        int64_t left = l->utimers[0].at - l->now;
        int u = left < 0 ? 0 : (int)(left > 60000 ? 60000 : left);
        ms = ms < 0 || u < ms ? u : ms;
    }
    if (l->stopping) {
        int64_t left = l->stop_deadline - l->now;
        int s = left < 0 ? 0 : (int)(left > 1000 ? 1000 : left);
        ms = ms < 0 || s < ms ? s : ms;
    }
    return ms;
}

int zws__loop_run(zws_loop *l)
{
    int r = zws__loop_start_backend(l);
    if (r) {
        zws_server_stop(l->srv); /* the others stop too */
        return r;
    }
    current = l;
    l->now = zws__now_ms();
    l->wheel_at = (l->now / ZWS__TICK_MS + 1) * ZWS__TICK_MS;
    if (l->srv->on_loop)
        l->srv->on_loop(l, l->srv->on_loop_arg);
    for (;;) {
        if (atomic_load(&l->srv->stop) && !l->stopping)
            zws__loop_begin_stop(l);
        if (l->stopping && (l->nconns == 0 || l->now >= l->stop_deadline))
            break;
        r = l->be->wait(l, wait_ms(l));
        if (r < 0)
            break;
        read_again(l);
        run_utimers(l);
        wheel_advance(l);
        l->be->flush(l);
        free_dead(l);
        if (l->now >= l->next_sweep)
            sweep_idle(l);
    }
    while (l->conns) /* past the stop deadline */
        zws__ws_kill(l->conns, ZWS_CLOSE_GOING_AWAY, "server stopped");
    free_dead(l);
    current = NULL;
    return r < 0 ? r : 0;
}

