"""permessage-deflate for the Python peers (README.md, "Compression"): the
peer's configuration from ZWS_INTEROP_PEER_DEFLATE, its view of what was
agreed in zws's canonical form, and a record of which received messages
came compressed, checked against zws's threshold (ZWS_INTEROP_DEFLATE)."""
import os

from websockets.extensions import permessage_deflate as pmd
from websockets.frames import Opcode


def parse_spec(spec):
    """"on" or a comma list of scnt, ccnt, sbits=N, cbits=N, threshold=N
    into a dict; None when unset or "off"."""
    if not spec or spec == 'off':
        return None
    out = {}
    for item in spec.split(','):
        k, eq, v = item.partition('=')
        out[k] = int(v) if eq else True
    return out


def _kwargs(s):
    kw = {'server_no_context_takeover': bool(s.get('scnt')),
          'client_no_context_takeover': bool(s.get('ccnt'))}
    if s.get('sbits'):
        kw['server_max_window_bits'] = s['sbits']
    if s.get('cbits'):
        kw['client_max_window_bits'] = s['cbits']
    return kw


def connect_kwargs():
    """For websockets.connect: without ZWS_INTEROP_PEER_DEFLATE its default
    (compression="deflate")."""
    s = parse_spec(os.environ.get('ZWS_INTEROP_PEER_DEFLATE'))
    if s is None:
        return {}
    return {'compression': None,
            'extensions': [pmd.ClientPerMessageDeflateFactory(**_kwargs(s))]}


def serve_kwargs():
    """For websockets.serve: without ZWS_INTEROP_PEER_DEFLATE its default."""
    s = parse_spec(os.environ.get('ZWS_INTEROP_PEER_DEFLATE'))
    if s is None:
        return {}
    return {'compression': None,
            'extensions': [pmd.ServerPerMessageDeflateFactory(**_kwargs(s))]}


def view(ws, server):
    """What ws agreed, as zws_conn_extensions says it ("" for none)."""
    ext = next((e for e in ws.extensions if isinstance(e, pmd.PerMessageDeflate)), None)
    if ext is None:
        return ''
    local = (ext.local_no_context_takeover, ext.local_max_window_bits)
    remote = (ext.remote_no_context_takeover, ext.remote_max_window_bits)
    srv, cli = (local, remote) if server else (remote, local)
    v = 'permessage-deflate'
    if srv[0]:
        v += '; server_no_context_takeover'
    if cli[0]:
        v += '; client_no_context_takeover'
    if srv[1] < 15:
        v += f'; server_max_window_bits={srv[1]}'
    if cli[1] < 15:
        v += f'; client_max_window_bits={cli[1]}'
    return v


def track(ws):
    """A list that fills with (length, compressed) for each data message
    received unfragmented (websockets decodes every frame through the
    extension, which sees RSV1)."""
    records = []
    for ext in ws.extensions:
        if isinstance(ext, pmd.PerMessageDeflate):
            decode = ext.decode

            def noting(frame, *, max_size=None, decode=decode):
                out = decode(frame, max_size=max_size)
                if frame.opcode in (Opcode.TEXT, Opcode.BINARY) and frame.fin:
                    records.append((len(out.data), frame.rsv1))
                return out

            ext.decode = noting
    return records


def verdict(records):
    """"ok ..." when every message zws sent came compressed exactly when it
    was at least zws's threshold long, else "bad ..." naming the first."""
    ours = parse_spec(os.environ.get('ZWS_INTEROP_DEFLATE'))
    if ours is None:
        return f'ok: compression off, {len(records)} messages'
    t = ours.get('threshold', 0)
    n = 0
    for length, compressed in records:
        if compressed != (length >= t):
            return (f'bad: a message of {length} bytes came '
                    f'{"" if compressed else "un"}compressed (zws\'s threshold {t})')
        n += compressed
    return f'ok: {n} of {len(records)} messages compressed (zws\'s threshold {t})'
