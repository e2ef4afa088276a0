/* Parser internals for the drivers' memory accounting. */
#ifndef ZWS_INTERNAL_PARSER_H
#define ZWS_INTERNAL_PARSER_H

#include "zws/parser.h"

/* Bytes the assembly buffer holds allocated (a large frame's whole length
 * is reserved when its header arrives). */
size_t zws__parser_held(const zws_parser *p);
/* Between messages, frees an assembly buffer larger than max (the last
 * assembled message is no longer borrowed: call it after its handler). */
void zws__parser_trim(zws_parser *p, size_t max);

/* Holds nothing a new parser would not (between messages, or finished):
 * a driver may free it and make a new one for the next input. */
int zws__parser_idle(const zws_parser *p);

/* Frees the assembly buffer whatever it holds: for a parser whose stream
 * is over (failed or closed); reset it before any further use. */
void zws__parser_release(zws_parser *p);

#endif
