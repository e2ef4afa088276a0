/* The TLS half of the transport (net/tls.c): what the socket half
 * dispatches to when a connection is on TLS. */
#ifndef ZWS_INTERNAL_TLS_H
#define ZWS_INTERNAL_TLS_H

#include "internal/transport.h"

ptrdiff_t zws__tls_read(zws__transport *t, void *buf, size_t cap, int timeout_ms);
ptrdiff_t zws__tls_writev(zws__transport *t, const struct iovec *iov, int iovcnt,
                          int timeout_ms);
int zws__tls_shutdown(zws__transport *t, int timeout_ms);
void zws__tls_free(zws__transport *t);
void zws__tls_errmsg(const zws__transport *t, char *err, size_t errlen);

#endif
