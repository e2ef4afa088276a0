"""Python websockets peer, server side: echoes every message and obeys the
"#cmd" lines of README.md. Prints "listening on PORT" when ready.

    /usr/bin/python3 server.py [--host ADDR] [--cert PEM --key PEM]

Written for the asyncio API of Debian's python3-websockets (10.x)."""
import argparse
import asyncio
import signal
import ssl
import sys

import websockets

import pmd

reports = {}


def split(msg, n):
    """n fragments of msg: by characters for text (websockets sends each
    str fragment as its own UTF-8 frame), by bytes for binary."""
    part = len(msg) // n
    return [msg[part * i: len(msg) if i + 1 == n else part * (i + 1)] for i in range(n)]


async def fragments(ws, parts, ping):
    """The parts as an async iterator (websockets sends each as a frame),
    with a ping between the first two when asked."""
    for i, part in enumerate(parts):
        yield part
        if ping and i == 0:
            await ws.ping(b'frag-ping')


async def command(ws, s, line):
    name, _, arg = line.partition(' ')
    if name == 'tag':
        s['tag'] = arg
    elif name == 'report':
        await ws.send(reports.get(arg, 'pending'))
    elif name == 'frag':
        n, _, ping = arg.partition(' ')
        s['frag'], s['frag_ping'] = int(n), ping == 'ping'
    elif name == 'ext':
        await ws.send(pmd.view(ws, server=True))
    elif name == 'compressed':
        await ws.send(pmd.verdict(s['records']))
    elif name == 'big':
        await ws.send(bytes(int(arg)))
    elif name == 'ping':
        waiter = await ws.ping(arg.encode())
        try:
            # websockets resolves the waiter only for a pong with the same
            # payload, so a timeout here means a missing or wrong pong.
            await asyncio.wait_for(waiter, 10)
            await ws.send(f'pong {arg}')
        except asyncio.TimeoutError:
            await ws.send('pong-mismatch (no matching pong in 10 s)')
    elif name == 'close':
        code, _, reason = arg.partition(' ')
        await ws.close(int(code), reason)
    elif name == 'badutf8':
        # websockets will not send invalid UTF-8 as text: write the frame to
        # the transport by hand. FIN + text, unmasked, "a\xff\xfeb".
        ws.transport.write(bytes([0x81, 0x04, 0x61, 0xFF, 0xFE, 0x62]))
    else:
        await ws.send(f'error unknown command: {line}')


async def handler(ws):
    s = {'tag': None, 'frag': 0, 'frag_ping': False, 'records': pmd.track(ws)}
    try:
        async for msg in ws:
            if isinstance(msg, str) and msg.startswith('#cmd '):
                await command(ws, s, msg[5:])
            elif s['frag'] > 1:
                n, s['frag'] = s['frag'], 0
                await ws.send(fragments(ws, split(msg, n), s['frag_ping']))
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass
    finally:
        await ws.wait_closed()
        if s['tag'] is not None:
            reports[s['tag']] = f'{ws.close_code} {ws.close_reason}'


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--cert')
    ap.add_argument('--key')
    args = ap.parse_args()
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    stop = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set_result, None)
    # max_size: our largest test message is 16 MiB (the default is 1 MiB).
    # ping_interval: no keepalive pings in the middle of a scenario.
    # Compression: websockets's default unless ZWS_INTEROP_PEER_DEFLATE.
    async with websockets.serve(handler, args.host, 0, ssl=ctx, max_size=None,
                                ping_interval=None, **pmd.serve_kwargs()) as server:
        port = server.sockets[0].getsockname()[1]
        print(f'listening on {port}', flush=True)
        await stop


if __name__ == '__main__':
    print(f'server.py: websockets {websockets.__version__}', file=sys.stderr)
    asyncio.run(main())
