/* Deadlines and waiting on a descriptor: the clock shared by the socket
 * and TLS halves of the transport and by the blocking connection. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "internal/transport.h"
#include "internal/wait.h"

int64_t zws__now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t zws__deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : zws__now_ms() + timeout_ms;
}

int zws__remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - zws__now_ms();
    if (left <= 0)
        return 0;
    return left > INT_MAX ? INT_MAX : (int)left;
}

int zws__wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events, .revents = 0};
        int ms = zws__remaining_ms(deadline);
        int r = poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0) {
            if (ms == 0 || zws__remaining_ms(deadline) == 0)
                return ZWS_ETIMEDOUT;
            continue; /* woke a little early: poll rounds to the tick */
        }
        if (errno != EINTR)
            return ZWS_EIO;
    }
}

void zws__errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int zws__transport_wait(zws__transport *t, short ev, int timeout_ms, int64_t *deadline)
{
    t->want = (uint8_t)ev;
    if (timeout_ms == 0)
        return ZWS_EAGAIN;
    if (*deadline == -2)
        *deadline = zws__deadline(timeout_ms);
    int w = zws__wait_fd(t->fd, ev, *deadline);
    if (w == ZWS_EIO)
        t->last_errno = (int16_t)errno;
    return w;
}

