/* The io_uring backend (built with liburing; see ZWS_HAVE_URING). */
#include "internal/loop.h"

#ifndef ZWS_HAVE_URING
const zws__backend *const zws__uring_backend = NULL;
#endif
