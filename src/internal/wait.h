/* Deadlines and waiting (net/wait.c): the clock of every blocking call. */
#ifndef ZWS_INTERNAL_WAIT_H
#define ZWS_INTERNAL_WAIT_H

#include <stddef.h>
#include <stdint.h>

struct zws__transport;

int64_t zws__now_ms(void);                 /* CLOCK_MONOTONIC */
int64_t zws__deadline(int timeout_ms);      /* -1 (none) for timeout < 0 */
int zws__remaining_ms(int64_t deadline);    /* for poll: -1, or >= 0 */
/* Waits for events on fd until deadline: 0 (ready, or an error condition
 * the next call will report), ZWS_ETIMEDOUT, ZWS_EIO (poll failed). */
int zws__wait_fd(int fd, short events, int64_t deadline);
/* After an operation would block on t: returns ZWS_EAGAIN for timeout 0
 * (setting t->want), else waits for ev until *deadline (computed from
 * timeout_ms on first use; start with *deadline = -2) and returns 0 to
 * retry, ZWS_ETIMEDOUT or ZWS_EIO. */
int zws__transport_wait(struct zws__transport *t, short ev, int timeout_ms, int64_t *deadline);
/* snprintf into err when err is not NULL. */
void zws__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
