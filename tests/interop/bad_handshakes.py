"""Bad opening handshakes sent over raw sockets to interop_server (run with
--handshake-timeout 1000). Each case checks the status line (and a header
where RFC 6455 asks for one) and that the server closes the connection;
the last case checks that a good handshake still works afterwards.

    /usr/bin/python3 bad_handshakes.py HOST PORT"""
import base64
import hashlib
import os
import socket
import sys
import time

HOST, PORT = sys.argv[1], int(sys.argv[2])
GUID = b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
failures = []


def request(method='GET', version='13', key=True, extra='', upgrade=True):
    lines = [f'{method} /interop HTTP/1.1', f'Host: {HOST}:{PORT}']
    if upgrade:
        lines += ['Upgrade: websocket', 'Connection: Upgrade']
    if key:
        lines.append('Sec-WebSocket-Key: ' + base64.b64encode(os.urandom(16)).decode())
    if version is not None:
        lines.append(f'Sec-WebSocket-Version: {version}')
    return ('\r\n'.join(lines) + '\r\n' + extra + '\r\n').encode()


def exchange(data, wait=5.0):
    """Sends data, reads until the server closes; returns (bytes, seconds,
    closed): closed is False when the server kept the socket open."""
    s = socket.create_connection((HOST, PORT), timeout=wait)
    start = time.monotonic()
    try:
        if data:
            s.sendall(data)
        got = b''
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return got, time.monotonic() - start, False
            except ConnectionResetError:
                return got, time.monotonic() - start, True
            if not chunk:
                return got, time.monotonic() - start, True
            got += chunk
    finally:
        s.close()


def check_status(name, data, status, header=None):
    got, _, closed = exchange(data)
    head = got.split(b'\r\n\r\n', 1)[0].decode('latin1')
    first = head.split('\r\n', 1)[0]
    problems = []
    if not first.startswith(f'HTTP/1.1 {status} '):
        problems.append(f"status line '{first}', expected {status}")
    if header and header.lower() not in [h.lower() for h in head.split('\r\n')[1:]]:
        problems.append(f"no '{header}' header")
    if not closed:
        problems.append('the server kept the connection open')
    if problems:
        failures.append(f'{name}: ' + '; '.join(problems) + f' (response: {head[:300]!r})')
    else:
        print(f'ok: {name}: {first}')


def slowloris():
    # A partial request, then nothing: the server must give up after its
    # handshake timeout (1 s here), not wait for ever.
    got, took, closed = exchange(b'GET /interop HTTP/1.1\r\nHost: x\r\nUpgr', wait=6.0)
    if not closed:
        failures.append(f'slowloris: still open after {took:.1f} s (handshake timeout is 1 s)')
    elif took < 0.5:
        failures.append(f'slowloris: closed after only {took:.2f} s, expected about 1 s')
    else:
        first = got.split(b'\r\n')[0].decode('latin1') or 'no response'
        print(f'ok: slowloris: closed after {took:.2f} s ({first})')


def good_handshake():
    key = base64.b64encode(os.urandom(16))
    s = socket.create_connection((HOST, PORT), timeout=5)
    try:
        s.sendall((f'GET /interop HTTP/1.1\r\nHost: {HOST}:{PORT}\r\nUpgrade: websocket\r\n'
                   f'Connection: Upgrade\r\nSec-WebSocket-Key: {key.decode()}\r\n'
                   f'Sec-WebSocket-Version: 13\r\n\r\n').encode())
        head = b''
        while b'\r\n\r\n' not in head:
            chunk = s.recv(4096)
            if not chunk:
                break
            head += chunk
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        lines = head.decode('latin1').split('\r\n')
        if not lines[0].startswith('HTTP/1.1 101 ') or \
                f'sec-websocket-accept: {accept}'.lower() not in [x.lower() for x in lines]:
            failures.append(f'good handshake after the bad ones: {head[:300]!r}')
            return
        # A masked close frame (1000), so the server ends the connection cleanly.
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(b'\x03\xe8'))
        s.sendall(bytes([0x88, 0x82]) + mask + payload)
        reply = s.recv(16)
        if reply[:2] != b'\x88\x02' or reply[2:4] != b'\x03\xe8':
            failures.append(f'close after the good handshake: reply {reply!r}')
            return
        print('ok: a good handshake still works, and closes with 1000')
    finally:
        s.close()


def main():
    check_status('missing Sec-WebSocket-Key', request(key=False), 400)
    check_status('Sec-WebSocket-Version: 8', request(version='8'), 426,
                 'Sec-WebSocket-Version: 13')
    check_status('no Sec-WebSocket-Version', request(version=None), 426,
                 'Sec-WebSocket-Version: 13')
    check_status('oversized header (20 KiB)', request(extra='X-Big: ' + 'a' * 20000 + '\r\n'),
                 431)
    # Far more than the server reads before refusing: the 431 must still
    # arrive, not a reset from closing with unread input.
    check_status('oversized header (400 KiB)',
                 request(extra='X-Big: ' + 'a' * 400000 + '\r\n'), 431)
    check_status('100 header fields',
                 request(extra=''.join(f'X-H{i}: v\r\n' for i in range(100))), 431)
    check_status('POST', request(method='POST'), 405)
    check_status('plain HTTP GET', b'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 426)
    check_status('garbage', b'\x16\x03\x01\x00\x05hello\r\n\r\n', 400)
    slowloris()
    good_handshake()
    if failures:
        for f in failures:
            print(f'bad_handshakes.py: FAIL: {f}', file=sys.stderr)
        return 1
    print('bad_handshakes.py: PASS')
    return 0


if __name__ == '__main__':
    sys.exit(main())
