/* zws — WebSocket (RFC 6455) for C. Include this header for the whole API
 * of libzws. (zws/md.h, the market-data library libzws_md built on it, is
 * included on its own.) */
#ifndef ZWS_H
#define ZWS_H

#include "buf.h"
#include "common.h"
#include "conn.h"
#include "frame.h"
#include "handshake.h"
#include "mask.h"
#include "parser.h"
#include "server.h"
#include "url.h"
#include "utf8.h"
#include "writer.h"

#endif
