'use strict';
// Node ws peer, server side: echoes every message and obeys the "#cmd"
// lines of README.md. Prints "listening on PORT" when ready.
//   node server.js [--host ADDR] [--cert PEM --key PEM]
const fs = require('fs');
const http = require('http');
const https = require('https');
const { WebSocketServer } = require('ws');
const pmd = require('./pmd');

const args = parseArgs(process.argv.slice(2));
const reports = new Map();

const httpServer = args.cert
  ? https.createServer({ cert: fs.readFileSync(args.cert), key: fs.readFileSync(args.key) })
  : http.createServer();
// maxPayload above our largest test message (16 MiB), below ws's default.
// perMessageDeflate from ZWS_INTEROP_PEER_DEFLATE (off without it).
const wss = new WebSocketServer({ server: httpServer, maxPayload: 32 << 20,
  perMessageDeflate: pmd.options() });

wss.on('connection', (ws) => {
  const s = { tag: null, frag: 0, fragPing: false, pongWant: null, records: [] };
  ws.on('message', (data, isBinary) => {
    pmd.track(ws, s.records, data.length);
    if (!isBinary && data.length < 512 && data.toString('latin1').startsWith('#cmd ')) {
      command(ws, s, data.toString('utf8').slice(5));
    } else if (s.frag > 1) {
      sendFragmented(ws, data, isBinary, s.frag, s.fragPing);
      s.frag = 0;
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
  ws.on('pong', (data) => {
    if (s.pongWant === null) return;
    const ok = data.equals(s.pongWant);
    ws.send(ok ? `pong ${data.toString()}` : `pong-mismatch ${data.length} bytes`);
    s.pongWant = null;
  });
  ws.on('close', (code, reason) => {
    if (s.tag !== null) reports.set(s.tag, `${code} ${reason.toString()}`);
  });
  ws.on('error', (err) => console.error(`server.js: connection error: ${err.message}`));
});

function command(ws, s, line) {
  const [name, ...rest] = line.split(' ');
  const arg = rest.join(' ');
  switch (name) {
    case 'tag': s.tag = arg; break;
    case 'report': ws.send(reports.get(arg) ?? 'pending'); break;
    case 'frag': s.frag = parseInt(rest[0], 10) || 0; s.fragPing = rest[1] === 'ping'; break;
    case 'ext': ws.send(pmd.view(ws)); break;
    case 'compressed': ws.send(pmd.verdict(s.records)); break;
    case 'big': ws.send(Buffer.alloc(parseInt(arg, 10))); break;
    case 'ping': s.pongWant = Buffer.from(arg); ws.ping(s.pongWant); break;
    case 'close': ws.close(parseInt(rest[0], 10), rest.slice(1).join(' ')); break;
    case 'badutf8':
      // ws refuses to send invalid UTF-8 as text, so the frame is written to
      // the socket by hand: FIN + text, unmasked (server to client), 4 bytes
      // whose 0xff can never appear in UTF-8.
      ws._socket.write(Buffer.from([0x81, 0x04, 0x61, 0xff, 0xfe, 0x62]));
      break;
    default: ws.send(`error unknown command: ${line}`);
  }
}

// Splits at byte offsets, so text fragments may cut code points: the
// receiver must validate across frames.
// With ping, a ping goes between the first two fragments.
function sendFragmented(ws, data, isBinary, n, ping) {
  const part = Math.floor(data.length / n);
  for (let i = 0; i < n; i++) {
    const end = i + 1 === n ? data.length : part * (i + 1);
    ws.send(data.subarray(part * i, end), { binary: isBinary, fin: i + 1 === n });
    if (ping && i === 0) ws.ping(Buffer.from('frag-ping'));
  }
}

function parseArgs(argv) {
  const out = { host: '127.0.0.1', cert: null, key: null };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in out) || i + 1 >= argv.length) {
      console.error('usage: node server.js [--host ADDR] [--cert PEM --key PEM]');
      process.exit(2);
    }
    out[k] = argv[i + 1];
  }
  return out;
}

httpServer.listen(0, args.host, () => {
  console.log(`listening on ${httpServer.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
