'use strict';
// permessage-deflate for the Node peers (README.md, "Compression"): the
// peer's configuration from ZWS_INTEROP_PEER_DEFLATE, its view of what was
// agreed in zws's canonical form, and a record of which received messages
// came compressed, checked against zws's threshold (ZWS_INTEROP_DEFLATE).
const path = require('path');
// Not among ws's exports: the file ws itself loads, by its path.
const PerMessageDeflate = require(
  path.join(path.dirname(require.resolve('ws')), 'lib', 'permessage-deflate.js'));

// "on" or a comma list of scnt, ccnt, sbits=N, cbits=N, threshold=N into a
// map; null when unset or "off".
function parseSpec(spec) {
  if (!spec || spec === 'off') return null;
  const out = {};
  for (const item of spec.split(',')) {
    const [k, v] = item.split('=');
    out[k] = v === undefined ? true : parseInt(v, 10);
  }
  return out;
}

// ws's perMessageDeflate option: false without ZWS_INTEROP_PEER_DEFLATE.
// Threshold 0 unless given: every message compressed, the empty one too.
function options() {
  const s = parseSpec(process.env.ZWS_INTEROP_PEER_DEFLATE);
  if (!s) return false;
  const o = { threshold: s.threshold ?? 0 };
  if (s.scnt) o.serverNoContextTakeover = true;
  if (s.ccnt) o.clientNoContextTakeover = true;
  if (s.sbits) o.serverMaxWindowBits = s.sbits;
  if (s.cbits) o.clientMaxWindowBits = s.cbits;
  return o;
}

// What ws agreed, as zws_conn_extensions says it ("" for none).
function view(ws) {
  const pmd = ws._extensions[PerMessageDeflate.extensionName];
  if (!pmd) return '';
  const p = pmd.params;
  let v = 'permessage-deflate';
  if (p.server_no_context_takeover) v += '; server_no_context_takeover';
  if (p.client_no_context_takeover) v += '; client_no_context_takeover';
  for (const k of ['server_max_window_bits', 'client_max_window_bits']) {
    if (typeof p[k] === 'number' && p[k] < 15) v += `; ${k}=${p[k]}`;
  }
  return v;
}

// ws inflates each compressed message's frames in order before it emits the
// message: the last frame's call marks the message as compressed.
const decompress = PerMessageDeflate.prototype.decompress;
PerMessageDeflate.prototype.decompress = function (data, fin, callback) {
  if (fin) this.zwsCompressed = true;
  return decompress.call(this, data, fin, callback);
};

// Call from the 'message' handler: notes whether it came compressed.
function track(ws, records, length) {
  const pmd = ws._extensions[PerMessageDeflate.extensionName];
  records.push({ length, compressed: !!(pmd && pmd.zwsCompressed) });
  if (pmd) pmd.zwsCompressed = false;
}

// "ok ..." when every message zws sent came compressed exactly when it was
// at least zws's threshold long, else "bad ..." naming the first that did not.
function verdict(records) {
  const ours = parseSpec(process.env.ZWS_INTEROP_DEFLATE);
  if (!ours) return `ok: compression off, ${records.length} messages`;
  const t = typeof ours.threshold === 'number' ? ours.threshold : 0;
  let n = 0;
  for (const r of records) {
    if (r.compressed !== (r.length >= t)) {
      return `bad: a message of ${r.length} bytes came ${r.compressed ? '' : 'un'}compressed` +
        ` (zws's threshold ${t})`;
    }
    if (r.compressed) n++;
  }
  return `ok: ${n} of ${records.length} messages compressed (zws's threshold ${t})`;
}

module.exports = { options, view, track, verdict };
