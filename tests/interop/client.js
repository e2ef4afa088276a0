'use strict';
// Node ws peer, client side: runs one scenario against interop_server (our
// server), which echoes and obeys the "#cmd" lines of README.md.
//   node client.js URL SCENARIO [--ca PEM]
// Exits 0 when the scenario passed, 1 with a "FAIL:" line otherwise.
const crypto = require('crypto');
const fs = require('fs');
const WebSocket = require('ws');
const pmd = require('./pmd');

const [url, scenario, ...rest] = process.argv.slice(2);
const ca = rest[0] === '--ca' ? fs.readFileSync(rest[1]) : undefined;
const RUN_LIMIT_MS = 60000;
const EVENT_TIMEOUT_MS = 30000;

function fail(msg) {
  console.error(`client.js: FAIL: ${scenario}: ${msg}`);
  process.exit(1);
}

// A connection whose events are queued, so a scenario reads them in order
// with `await peer.next()`, like a blocking client.
class Peer {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiter = null;
    this.records = []; // which messages came compressed
    ws.on('message', (data, isBinary) => {
      pmd.track(ws, this.records, data.length);
      this.push({ type: 'message', data, isBinary });
    });
    ws.on('ping', (data) => this.push({ type: 'ping', data }));
    ws.on('pong', (data) => this.push({ type: 'pong', data }));
    ws.on('close', (code, reason) => this.push({ type: 'close', code, reason: reason.toString() }));
    ws.on('error', (error) => this.push({ type: 'error', error }));
  }
  push(ev) {
    this.queue.push(ev);
    if (this.waiter) { const w = this.waiter; this.waiter = null; w(); }
  }
  async next(what) {
    const deadline = Date.now() + EVENT_TIMEOUT_MS;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) fail(`${what}: no event within ${EVENT_TIMEOUT_MS} ms`);
      await new Promise((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiter = () => { clearTimeout(t); resolve(); };
      });
    }
    return this.queue.shift();
  }
  async expect(type, what) {
    const ev = await this.next(what);
    if (ev.type !== type) {
      const detail = ev.type === 'close' ? ` ${ev.code} '${ev.reason}'`
        : ev.type === 'error' ? ` ${ev.error.message}` : '';
      fail(`${what}: expected a ${type}, got a ${ev.type}${detail}`);
    }
    return ev;
  }
  async expectMessage(data, isBinary, what) {
    const ev = await this.expect('message', what);
    if (ev.isBinary !== isBinary) fail(`${what}: binary=${ev.isBinary}, expected ${isBinary}`);
    if (!ev.data.equals(data)) fail(`${what}: echo differs: ${diff(ev.data, data)}`);
  }
  cmd(line) { this.ws.send(`#cmd ${line}`); }
  close(code, reason) { this.ws.close(code, reason); return this.expect('close', 'our close'); }
}

function diff(a, b) {
  if (a.length !== b.length) return `length ${a.length}, expected ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i} differs`;
  return 'identical';
}

function open() {
  return new Promise((resolve) => {
    const opts = { ca, maxPayload: 32 << 20, handshakeTimeout: 10000 };
    // ws offers permessage-deflate by default: ZWS_INTEROP_PEER_DEFLATE
    // sets what it offers instead.
    const deflate = pmd.options();
    if (deflate) opts.perMessageDeflate = deflate;
    const ws = new WebSocket(url, opts);
    ws.once('open', () => resolve(new Peer(ws)));
    ws.once('error', (err) => fail(`connect ${url}: ${err.message}`));
  });
}

// Exactly n bytes of valid UTF-8 with 1- to 4-byte code points.
function text(n, seed) {
  const pieces = ['a', 'é', '✓', '𝄞', 'Z', ' '].map((p) => Buffer.from(p));
  const out = Buffer.alloc(n);
  let i = 0;
  let s = seed + 1;
  while (i < n) {
    s = (s * 1103515245 + 12345) >>> 0;
    let p = pieces[(s >>> 16) % pieces.length];
    if (p.length > n - i) p = Buffer.from('x');
    p.copy(out, i);
    i += p.length;
  }
  return out;
}

async function reportOf(tag) {
  const peer = await open();
  const until = Date.now() + 5000;
  let got;
  for (;;) {
    peer.cmd(`report ${tag}`);
    got = (await peer.expect('message', 'report')).data.toString();
    if (got !== 'pending' || Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  await peer.close(1000, '');
  return got;
}

let tagSeq = 0;
const newTag = (what) => `node-${process.pid}-${what}-${++tagSeq}`;

async function sizesOn(peer, max) {
  for (const n of [0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 16 << 20]) {
      if (n > max) continue;
      const t = text(n, n);
      peer.ws.send(t, { binary: false });
      await peer.expectMessage(t, false, `text ${n} bytes`);
      const b = crypto.randomBytes(n);
      peer.ws.send(b);
      await peer.expectMessage(b, true, `binary ${n} bytes`);
      console.log(`ok: text and binary ${n} bytes echoed`);
  }
}

// ZWS_INTEROP_EXPECT: what zws says it agreed; ZWS_INTEROP_PEER_EXPECT
// (default the same): what ws says.
function expected(name) {
  const v = process.env[name] ?? process.env.ZWS_INTEROP_EXPECT;
  return v === 'none' ? '' : v;
}

async function ask(peer, line) {
  peer.cmd(line);
  return (await peer.expect('message', line)).data.toString();
}

const scenarios = {
  async sizes(max = 16 << 20) {
    const peer = await open();
    await sizesOn(peer, max);
    await peer.close(1000, 'sizes done');
  },

  // Compressed: the extension agreed as both sides see it, the sizes up to
  // 1 MiB, which of zws's messages came compressed, and zws's word on ours.
  async pmd() {
    const peer = await open();
    const mine = pmd.view(peer.ws);
    const want = expected('ZWS_INTEROP_PEER_EXPECT');
    if (want !== undefined && mine !== want) fail(`ws agreed '${mine}', expected '${want}'`);
    const theirs = await ask(peer, 'ext');
    const wantZws = expected('ZWS_INTEROP_EXPECT');
    if (wantZws !== undefined && theirs !== wantZws) {
      fail(`zws says it agreed '${theirs}', expected '${wantZws}'`);
    }
    console.log(`ok: extensions: ws '${mine}', zws '${theirs}'`);
    await sizesOn(peer, 1 << 20);
    const v = pmd.verdict(peer.records);
    if (!v.startsWith('ok')) fail(v);
    console.log(v);
    const z = await ask(peer, 'compressed');
    if (!z.startsWith('ok')) fail(`zws on ws's messages: ${z}`);
    console.log(`zws on ws's messages: ${z}`);
    await peer.close(1000, 'pmd done');
  },

  // 64 MiB of zeros, compressed to some 64 KiB, against zws's 1 MiB limit
  // (ZWS_INTEROP_MAX_MESSAGE): 1009 at once, and the server still serves.
  async bomb() {
    const peer = await open();
    const t0 = Date.now();
    peer.ws.send(Buffer.alloc(64 << 20));
    const ev = await peer.expect('close', "zws's reaction to the bomb");
    const ms = Date.now() - t0;
    if (ev.code !== 1009) fail(`the bomb answered with close ${ev.code} '${ev.reason}', expected 1009`);
    if (ms > 5000) fail(`the bomb took ${ms} ms to refuse`);
    console.log(`ok: zws failed the connection with 1009 '${ev.reason}' after ${ms} ms`);
    const again = await open();
    again.ws.send('still there?');
    await again.expectMessage(Buffer.from('still there?'), false, 'echo after the bomb');
    console.log('ok: the server still echoes');
    await again.close(1000, 'bomb done');
  },

  async 'frag-send'() {
    const peer = await open();
    // One byte per frame: every multi-byte code point is split.
    const t = Buffer.from('héllo ✓ wörld 𝄞!');
    for (let i = 0; i < t.length; i++) {
      peer.ws.send(t.subarray(i, i + 1), { binary: false, fin: i + 1 === t.length });
    }
    await peer.expectMessage(t, false, 'text sent one byte per frame');
    console.log('ok: text sent one byte per frame');
    // A ping between fragments: the pong comes first, then the echo.
    const b = crypto.randomBytes(300000);
    peer.ws.send(b.subarray(0, 100000), { fin: false });
    peer.ws.ping(Buffer.from('mid'));
    peer.ws.send(b.subarray(100000, 200000), { fin: false });
    peer.ws.send(b.subarray(200000), { fin: true });
    const pong = await peer.expect('pong', 'pong for a ping between fragments');
    if (pong.data.toString() !== 'mid') fail('pong payload differs from the ping\'s');
    await peer.expectMessage(b, true, 'binary in 3 fragments around a ping');
    console.log('ok: binary in 3 fragments with a ping between them');
    // Empty first and last fragments.
    peer.ws.send(Buffer.alloc(0), { binary: false, fin: false });
    peer.ws.send(Buffer.from('abc'), { binary: false, fin: false });
    peer.ws.send(Buffer.alloc(0), { binary: false, fin: true });
    await peer.expectMessage(Buffer.from('abc'), false, 'empty first and last fragments');
    console.log('ok: empty first and last fragments');
    const big = text(1 << 20, 5);
    const step = (big.length >> 4) + 3;
    for (let off = 0; off < big.length; off += step) {
      const end = Math.min(off + step, big.length);
      peer.ws.send(big.subarray(off, end), { binary: false, fin: end === big.length });
    }
    await peer.expectMessage(big, false, '1 MiB text in 16 fragments');
    console.log('ok: 1 MiB text in 16 fragments');
    await peer.close(1000, 'frag done');
  },

  async 'frag-recv'() {
    const peer = await open();
    const t = Buffer.from('fragments: héllo ✓ wörld 𝄞 and some more text to split');
    peer.cmd('frag 4');
    peer.ws.send(t, { binary: false });
    await peer.expectMessage(t, false, 'text echoed in 4 fragments');
    const b = crypto.randomBytes(200001);
    peer.cmd('frag 3');
    peer.ws.send(b);
    await peer.expectMessage(b, true, 'binary echoed in 3 fragments');
    peer.cmd('frag 50');
    peer.ws.send(b.subarray(0, 5000));
    await peer.expectMessage(b.subarray(0, 5000), true, 'binary echoed in 50 fragments');
    peer.cmd('frag 3 ping');
    peer.ws.send(t, { binary: false });
    const ping = await peer.expect('ping', "zws's ping between fragments");
    if (ping.data.toString() !== 'frag-ping') fail(`ping between fragments: '${ping.data}'`);
    await peer.expectMessage(t, false, 'text in 3 fragments around a ping');
    console.log('ok: text and binary echoed by zws in fragments, with a ping between');
    await peer.close(1000, 'frag done');
  },

  async ping() {
    const peer = await open();
    for (const p of [Buffer.from('node-ping-1'), Buffer.alloc(0), crypto.randomBytes(125)]) {
      peer.ws.ping(p);
      const ev = await peer.expect('pong', 'pong');
      if (!ev.data.equals(p)) fail(`pong payload: ${diff(ev.data, p)}`);
      console.log(`ok: our ping of ${p.length} bytes answered by zws`);
    }
    peer.cmd('ping srv-ping-7');
    const ev = await peer.expect('ping', "zws's ping");
    if (ev.data.toString() !== 'srv-ping-7') fail(`zws's ping payload '${ev.data}'`);
    await peer.expectMessage(Buffer.from('pong srv-ping-7'), false, "zws's word on our pong");
    console.log("ok: zws's ping answered and matched");
    await peer.close(1000, 'ping done');
  },

  async 'close-client'() {
    for (const [code, reason] of [[1000, 'bye'], [4000, 'custom'], [1001, '']]) {
      const tag = newTag('close-client');
      const peer = await open();
      peer.cmd(`tag ${tag}`);
      peer.ws.send('hello');
      await peer.expectMessage(Buffer.from('hello'), false, 'echo before closing');
      const ev = await peer.close(code, reason);
      if (ev.code !== code) fail(`zws answered our close ${code} with ${ev.code}`);
      const got = await reportOf(tag);
      if (got !== `${code} ${reason}`) fail(`we closed with '${code} ${reason}'; zws saw '${got}'`);
      console.log(`ok: zws saw our close '${got}' and echoed ${ev.code}`);
    }
  },

  async 'close-server'() {
    for (const [code, reason] of [[4000, 'custom'], [1000, 'bye']]) {
      const tag = newTag('close-server');
      const peer = await open();
      peer.cmd(`tag ${tag}`);
      peer.cmd(`close ${code} ${reason}`);
      const ev = await peer.expect('close', "zws's close");
      if (ev.code !== code || ev.reason !== reason) {
        fail(`zws closed with ${code} '${reason}'; we saw ${ev.code} '${ev.reason}'`);
      }
      const got = await reportOf(tag);
      if (!got.startsWith('answered')) fail(`zws's close was not answered, it says: '${got}'`);
      console.log(`ok: zws's close ${code} '${reason}' seen (${got})`);
    }
  },

  async badutf8() {
    const peer = await open();
    // ws will not send invalid UTF-8 as text, so the frame is built by hand:
    // FIN + text, masked (client to server), payload "a\xff\xfeb".
    const payload = Buffer.from([0x61, 0xff, 0xfe, 0x62]);
    const key = crypto.randomBytes(4);
    const masked = Buffer.from(payload.map((v, i) => v ^ key[i & 3]));
    peer.ws._socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), key, masked]));
    const ev = await peer.expect('close', "zws's reaction to invalid UTF-8");
    if (ev.code !== 1007) fail(`invalid UTF-8 answered with close ${ev.code} '${ev.reason}', expected 1007`);
    console.log(`ok: zws failed the connection with 1007 '${ev.reason}'`);
  },

  async toobig() {
    const peer = await open();
    peer.ws.send(Buffer.alloc((16 << 20) + 1));
    const ev = await peer.expect('close', "zws's reaction to 16 MiB + 1");
    if (ev.code !== 1009) fail(`16 MiB + 1 answered with close ${ev.code} '${ev.reason}', expected 1009`);
    console.log(`ok: zws failed the connection with 1009 '${ev.reason}'`);
  },

  async basic() {
    await scenarios.sizes(1 << 20);
    const peer = await open();
    peer.ws.ping(Buffer.from('basic'));
    await peer.expect('pong', 'pong');
    await peer.close(1000, 'basic done');
  },
};

if (!scenarios[scenario]) fail(`unknown scenario; known: ${Object.keys(scenarios).join(', ')}`);
setTimeout(() => fail(`did not finish within ${RUN_LIMIT_MS} ms`), RUN_LIMIT_MS);
scenarios[scenario]().then(() => {
  console.log(`client.js: ${scenario}: PASS`);
  process.exit(0);
}, (err) => fail(err.stack || String(err)));
