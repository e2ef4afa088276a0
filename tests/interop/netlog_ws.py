#!/usr/bin/env python3
"""Chromium's own record of the WebSocket frames it sent and received, from
a net log (chromium --log-net-log=FILE), for browser.sh: which data
messages went out and came in compressed, seen on the wire rather than
through either side's WebSocket API.

    netlog_ws.py FILE

Prints one line, "sent N compressed Z received N compressed Z", counting
data messages (the first frame of each: opcode 1 or 2; RSV1 there means
the message is compressed, RFC 7692 section 6). The log need not be
complete: Chromium stopped by a signal leaves the event list unclosed, so
the events are read one per line, as Chromium writes them."""
import json
import sys


def main(path):
    with open(path, encoding='utf-8') as f:
        first = f.readline()
        # The first line is '{"constants":{...},'.
        constants = json.loads(first.rstrip().rstrip(',') + '}')['constants']
        types = constants['logEventTypes']
        sent_t = types['WEBSOCKET_SENT_FRAME_HEADER']
        recv_t = types['WEBSOCKET_RECV_FRAME_HEADER']
        counts = {sent_t: [0, 0], recv_t: [0, 0]}
        for line in f:
            line = line.strip().rstrip(',')
            if not line.startswith('{"params"'):
                continue
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # the last line of a log cut short
            c = counts.get(ev.get('type'))
            p = ev.get('params', {})
            if c is None or p.get('opcode') not in (1, 2):
                continue
            c[0] += 1
            c[1] += bool(p.get('reserved1'))
    s, r = counts[sent_t], counts[recv_t]
    print(f'sent {s[0]} compressed {s[1]} received {r[0]} compressed {r[1]}')


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit('usage: netlog_ws.py FILE')
    main(sys.argv[1])
