"""Python websockets peer, client side: runs one scenario against
interop_server (our server), which echoes and obeys the "#cmd" lines of
README.md.

    /usr/bin/python3 client.py URL SCENARIO [--ca PEM]

Exits 0 when the scenario passed, 1 with a "FAIL:" line otherwise. Written
for the asyncio API of Debian's python3-websockets (10.x)."""
import asyncio
import os
import ssl
import sys

import websockets

import pmd

URL = sys.argv[1] if len(sys.argv) > 2 else ''
SCENARIO = sys.argv[2] if len(sys.argv) > 2 else ''
CA = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == '--ca' else None
RUN_LIMIT_S = 60
EVENT_TIMEOUT_S = 30


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


async def open_conn():
    ctx = ssl.create_default_context(cafile=CA) if CA else None
    # Compression: websockets's default offer unless ZWS_INTEROP_PEER_DEFLATE.
    ws = await websockets.connect(URL, ssl=ctx, max_size=None, ping_interval=None,
                                  open_timeout=10, close_timeout=10, **pmd.connect_kwargs())
    ws.records = pmd.track(ws)
    return ws


async def recv(ws, what):
    try:
        return await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
    except asyncio.TimeoutError:
        raise Fail(f'{what}: nothing within {EVENT_TIMEOUT_S} s') from None
    except websockets.ConnectionClosed as e:
        raise Fail(f'{what}: connection closed: {e}') from None


async def expect(ws, want, what):
    got = await recv(ws, what)
    check(type(got) is type(want), f'{what}: got {type(got).__name__}, '
                                   f'expected {type(want).__name__}')
    if got != want:
        n = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise Fail(f'{what}: echo differs at {n} (length {len(got)}, expected {len(want)})')


async def cmd(ws, line):
    await ws.send('#cmd ' + line)


def text(n, seed):
    """Exactly n bytes of UTF-8 (1- to 4-byte code points), as str."""
    pieces = ['a', 'é', '✓', '𝄞', 'Z', ' ']
    out, size, s = [], 0, seed + 1
    while size < n:
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        p = pieces[(s >> 16) % len(pieces)]
        if len(p.encode()) > n - size:
            p = 'x'
        out.append(p)
        size += len(p.encode())
    return ''.join(out)


async def report_of(tag):
    ws = await open_conn()
    loop = asyncio.get_running_loop()
    until = loop.time() + 5
    while True:
        await cmd(ws, f'report {tag}')
        got = await recv(ws, 'report')
        if got != 'pending' or loop.time() > until:
            break
        await asyncio.sleep(0.05)
    await ws.close()
    return got


_seq = [0]


def new_tag(what):
    _seq[0] += 1
    return f'py-{os.getpid()}-{what}-{_seq[0]}'


async def sizes_on(ws, limit):
    for n in [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20]:
        if n > limit:
            continue
        t = text(n, n)
        await ws.send(t)
        await expect(ws, t, f'text {n} bytes')
        b = os.urandom(n)
        await ws.send(b)
        await expect(ws, b, f'binary {n} bytes')
        print(f'ok: text and binary {n} bytes echoed')


async def sizes(limit=16 << 20):
    ws = await open_conn()
    await sizes_on(ws, limit)
    await ws.close(1000, 'sizes done')


def expected(name):
    """ZWS_INTEROP_EXPECT: what zws says it agreed; ZWS_INTEROP_PEER_EXPECT
    (default the same): what websockets says. None: no check."""
    v = os.environ.get(name, os.environ.get('ZWS_INTEROP_EXPECT'))
    return '' if v == 'none' else v


async def pmd_scenario():
    """Compressed: the extension agreed as both sides see it, the sizes up
    to 1 MiB, which of zws's messages came compressed, and zws's word on
    ours."""
    ws = await open_conn()
    mine = pmd.view(ws, server=False)
    want = expected('ZWS_INTEROP_PEER_EXPECT')
    check(want is None or mine == want, f"websockets agreed '{mine}', expected '{want}'")
    await cmd(ws, 'ext')
    theirs = await recv(ws, 'ext')
    want = expected('ZWS_INTEROP_EXPECT')
    check(want is None or theirs == want, f"zws says it agreed '{theirs}', expected '{want}'")
    print(f"ok: extensions: websockets '{mine}', zws '{theirs}'")
    await sizes_on(ws, 1 << 20)
    v = pmd.verdict(ws.records)
    check(v.startswith('ok'), v)
    print(v)
    await cmd(ws, 'compressed')
    z = await recv(ws, 'compressed')
    check(z.startswith('ok'), f"zws on websockets's messages: {z}")
    print(f"zws on websockets's messages: {z}")
    await ws.close(1000, 'pmd done')


async def bomb():
    """64 MiB of zeros, compressed to some 64 KiB, against zws's 1 MiB limit
    (ZWS_INTEROP_MAX_MESSAGE): 1009 at once, and the server still serves."""
    ws = await open_conn()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    try:
        await ws.send(bytes(64 << 20))
        msg = await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
        raise Fail(f'expected a close, got a message {msg!r:.80}')
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1009,
              f'the bomb answered with {e}, expected a close with 1009')
        ms = int((loop.time() - t0) * 1000)
        check(ms <= 5000, f'the bomb took {ms} ms to refuse')
        print(f"ok: zws failed the connection with 1009 '{e.rcvd.reason}' after {ms} ms")
    ws = await open_conn()
    await ws.send('still there?')
    await expect(ws, 'still there?', 'echo after the bomb')
    print('ok: the server still echoes')
    await ws.close(1000, 'bomb done')


async def frag_send():
    ws = await open_conn()
    t = 'héllo ✓ wörld 𝄞!'
    await ws.send(list(t))  # one character per frame
    await expect(ws, t, 'text sent one character per frame')
    await ws.send(['', 'abc', ''])
    await expect(ws, 'abc', 'empty first and last fragments')
    print('ok: text fragments, empty fragments')

    b = os.urandom(300000)
    waiter = None

    async def parts():
        nonlocal waiter
        yield b[:100000]
        waiter = await ws.ping(b'mid')  # a ping between fragments
        yield b[100000:200000]
        yield b[200000:]

    await ws.send(parts())
    try:
        await asyncio.wait_for(waiter, 10)
    except asyncio.TimeoutError:
        raise Fail('no pong (with our payload) for a ping between fragments') from None
    await expect(ws, b, 'binary in 3 fragments around a ping')
    print('ok: binary in 3 fragments with a ping between them')

    big = text(1 << 20, 5)
    step = len(big) // 16 + 3
    await ws.send([big[i:i + step] for i in range(0, len(big), step)])
    await expect(ws, big, '1 MiB text in 16 fragments')
    print('ok: 1 MiB text in 16 fragments')
    await ws.close(1000, 'frag done')


async def frag_recv():
    ws = await open_conn()
    t = 'fragments: héllo ✓ wörld 𝄞 and some more text to split'
    await cmd(ws, 'frag 4')
    await ws.send(t)
    await expect(ws, t, 'text echoed in 4 fragments')
    b = os.urandom(200001)
    await cmd(ws, 'frag 3')
    await ws.send(b)
    await expect(ws, b, 'binary echoed in 3 fragments')
    await cmd(ws, 'frag 50')
    await ws.send(b[:5000])
    await expect(ws, b[:5000], 'binary echoed in 50 fragments')
    await cmd(ws, 'frag 3 ping')  # zws pings between its fragments
    await ws.send(t)
    await expect(ws, t, 'text in 3 fragments around a ping')
    print('ok: text and binary echoed by zws in fragments, with a ping between')
    await ws.close(1000, 'frag done')


async def ping():
    ws = await open_conn()
    for p in [b'py-ping-1', b'', os.urandom(125)]:
        waiter = await ws.ping(p)
        try:
            await asyncio.wait_for(waiter, 10)
        except asyncio.TimeoutError:
            raise Fail(f'no pong with our {len(p)}-byte payload') from None
        print(f'ok: our ping of {len(p)} bytes answered by zws')
    await cmd(ws, 'ping srv-ping-7')
    # websockets answers pings itself and does not surface them; zws says
    # whether our pong came back with its payload.
    await expect(ws, 'pong srv-ping-7', "zws's word on our pong")
    print("ok: zws's ping answered and matched")
    await ws.close(1000, 'ping done')


async def close_client():
    for code, reason in [(1000, 'bye'), (4000, 'custom'), (1001, '')]:
        tag = new_tag('close-client')
        ws = await open_conn()
        await cmd(ws, f'tag {tag}')
        await ws.send('hello')
        await expect(ws, 'hello', 'echo before closing')
        await ws.close(code, reason)
        check(ws.close_code == code, f'zws answered our close {code} with {ws.close_code}')
        got = await report_of(tag)
        check(got == f'{code} {reason}', f"we closed with '{code} {reason}'; zws saw '{got}'")
        print(f"ok: zws saw our close '{got}' and echoed {ws.close_code}")


async def close_server():
    for code, reason in [(4000, 'custom'), (1000, 'bye')]:
        tag = new_tag('close-server')
        ws = await open_conn()
        await cmd(ws, f'tag {tag}')
        await cmd(ws, f'close {code} {reason}')
        try:
            msg = await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
            raise Fail(f'expected the close, got a message {msg!r:.80}')
        except websockets.ConnectionClosed as e:
            check(e.rcvd is not None, f'no close frame from zws: {e}')
            check((e.rcvd.code, e.rcvd.reason) == (code, reason),
                  f"zws closed with {code} '{reason}'; we saw {e.rcvd.code} '{e.rcvd.reason}'")
        got = await report_of(tag)
        check(got.startswith('answered'), f"zws's close was not answered, it says: '{got}'")
        print(f"ok: zws's close {code} '{reason}' seen ({got})")


async def badutf8():
    ws = await open_conn()
    # websockets will not send invalid UTF-8 as text: write a masked frame
    # (client to server) by hand. FIN + text, payload "a\xff\xfeb".
    payload, key = bytes([0x61, 0xFF, 0xFE, 0x62]), os.urandom(4)
    masked = bytes(v ^ key[i % 4] for i, v in enumerate(payload))
    ws.transport.write(bytes([0x81, 0x80 | len(payload)]) + key + masked)
    try:
        msg = await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
        raise Fail(f'expected a close, got a message {msg!r:.80}')
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1007,
              f'invalid UTF-8 answered with {e}, expected a close with 1007')
        print(f"ok: zws failed the connection with 1007 '{e.rcvd.reason}'")


async def toobig():
    ws = await open_conn()
    try:
        await ws.send(bytes((16 << 20) + 1))
        msg = await asyncio.wait_for(ws.recv(), EVENT_TIMEOUT_S)
        raise Fail(f'expected a close, got a message {msg!r:.80}')
    except websockets.ConnectionClosed as e:
        check(e.rcvd is not None and e.rcvd.code == 1009,
              f'16 MiB + 1 answered with {e}, expected a close with 1009')
        print(f"ok: zws failed the connection with 1009 '{e.rcvd.reason}'")


async def basic():
    await sizes(1 << 20)
    ws = await open_conn()
    await asyncio.wait_for(await ws.ping(b'basic'), 10)
    await ws.close(1000, 'basic done')


SCENARIOS = {'sizes': sizes, 'frag-send': frag_send, 'frag-recv': frag_recv, 'ping': ping,
             'close-client': close_client, 'close-server': close_server,
             'badutf8': badutf8, 'toobig': toobig, 'basic': basic, 'pmd': pmd_scenario,
             'bomb': bomb}


def main():
    if SCENARIO not in SCENARIOS:
        print(f'usage: client.py URL {{{"|".join(SCENARIOS)}}} [--ca PEM]', file=sys.stderr)
        return 2
    try:
        asyncio.run(asyncio.wait_for(SCENARIOS[SCENARIO](), RUN_LIMIT_S))
    except Fail as e:
        print(f'client.py: FAIL: {SCENARIO}: {e}', file=sys.stderr)
        return 1
    except asyncio.TimeoutError:
        print(f'client.py: FAIL: {SCENARIO}: did not finish within {RUN_LIMIT_S} s',
              file=sys.stderr)
        return 1
    except (OSError, websockets.WebSocketException) as e:
        print(f'client.py: FAIL: {SCENARIO}: {type(e).__name__}: {e}', file=sys.stderr)
        return 1
    print(f'client.py: {SCENARIO}: PASS (websockets {websockets.__version__})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
