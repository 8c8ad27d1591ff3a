// claims-ledger: a claim's provenance checked in the reader's browser with Web Crypto
// (SHA-256, Ed25519), trusting nothing the server computed. docs/pages.md, "Verified in
// your browser"; the same checks as ledger/entries.py, ledger/merkle.py and
// ledger/checkpoint.py, tested against them in tests/browser/test_verify_in_browser.py.
(function () {
  "use strict";

  var ENTRY_DOMAIN = "claims-ledger/entry/v1\n";
  var PIN_PREFIX = "claims-ledger-log-key:";
  var enc = new TextEncoder();

  function b64decode(text, what) {
    if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
      throw new Error(what + " is not standard base64");
    }
    var bin = atob(text);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function concat() {
    var total = 0, i;
    for (i = 0; i < arguments.length; i++) total += arguments[i].length;
    var out = new Uint8Array(total), at = 0;
    for (i = 0; i < arguments.length; i++) { out.set(arguments[i], at); at += arguments[i].length; }
    return out;
  }
  function equal(a, b) {
    if (a.length !== b.length) return false;
    for (var i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  async function ed25519(publicKey, signature, message) {
    var key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
    return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
  }
  function leafHash(data) { return sha256(concat(new Uint8Array([0]), data)); }
  function nodeHash(l, r) { return sha256(concat(new Uint8Array([1]), l, r)); }

  // RFC 9162 §2.1.3.2: the root an inclusion proof leads to.
  async function rootFromInclusion(leaf, index, size, proof) {
    if (!(index >= 0 && index < size)) throw new Error("index " + index + " is not in a tree of size " + size);
    var fn = index, sn = size - 1, r = leaf;
    for (var i = 0; i < proof.length; i++) {
      if (sn === 0) throw new Error("the proof is too long");
      if (fn % 2 === 1 || fn === sn) {
        r = await nodeHash(proof[i], r);
        if (fn % 2 === 0) { while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); } }
      } else {
        r = await nodeHash(r, proof[i]);
      }
      fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw new Error("the proof is too short");
    return r;
  }

  // <name>+<8 hex key ID>+<base64(0x01 ‖ 32-byte Ed25519 key)>, the key ID checked.
  async function parseVerifierKey(text) {
    var parts = String(text).trim().split("+");
    if (parts.length < 3) throw new Error("the log key is not <name>+<key id>+<base64 key>");
    var name = parts[0], id = parts[1], raw = b64decode(parts.slice(2).join("+"), "the log key");
    if (!/^[0-9a-f]{8}$/.test(id)) throw new Error("the log key's id is not 8 hex digits");
    if (raw.length !== 33 || raw[0] !== 1) throw new Error("the log key is not an Ed25519 key");
    var digest = await sha256(concat(enc.encode(name), new Uint8Array([10]), raw));
    if (hex(digest.slice(0, 4)) !== id) throw new Error("the log key's id does not match its key");
    return { name: name, id: id, publicKey: raw.slice(1), text: String(text).trim() };
  }

  // A C2SP signed note: the text up to the last blank line, then "— name base64(id ‖ sig)".
  async function verifyCheckpoint(note, key, origin) {
    var split = note.lastIndexOf("\n\n");
    if (split < 0 || note.slice(-1) !== "\n") throw new Error("the checkpoint is not a signed note");
    var text = note.slice(0, split + 1);
    var lines = note.slice(split + 2, -1).split("\n");
    var signed = false;
    for (var i = 0; i < lines.length; i++) {
      var m = /^\u2014 (\S+) (\S+)$/.exec(lines[i]);
      if (!m || m[1] !== key.name) continue;
      var blob = b64decode(m[2], "a checkpoint signature");
      if (blob.length !== 68 || hex(blob.slice(0, 4)) !== key.id) continue;
      if (!(await ed25519(key.publicKey, blob.slice(4), enc.encode(text)))) {
        throw new Error("the checkpoint's signature by " + key.name + " does not verify");
      }
      signed = true;
    }
    if (!signed) throw new Error("the checkpoint has no signature by the log key " + key.name + "+" + key.id);
    var body = text.slice(0, -1).split("\n");
    if (body.length < 3) throw new Error("the checkpoint body has fewer than 3 lines");
    if (body[0] !== origin) throw new Error("the checkpoint's origin is " + JSON.stringify(body[0]) + ", not " + JSON.stringify(origin));
    if (!/^(0|[1-9][0-9]*)$/.test(body[1])) throw new Error("the checkpoint's size is not a number");
    var root = b64decode(body[2], "the checkpoint's root");
    if (root.length !== 32) throw new Error("the checkpoint's root is not 32 bytes");
    return { size: Number(body[1]), root: root };
  }

  // Entry bytes: {"body":<canonical body>,"sig":"<base64 of 64 bytes>"}.
  function splitEntry(data) {
    var prefix = enc.encode('{"body":'), sep = enc.encode(',"sig":"');
    var sigStart = data.length - 2 - 88, sepStart = sigStart - sep.length;
    if (!equal(data.slice(0, prefix.length), prefix) || sepStart < prefix.length ||
        !equal(data.slice(sepStart, sigStart), sep) || !equal(data.slice(-2), enc.encode('"}'))) {
      throw new Error("its bytes are not a framed entry");
    }
    var signature = b64decode(new TextDecoder().decode(data.slice(sigStart, data.length - 2)), "its signature");
    if (signature.length !== 64) throw new Error("its signature is not 64 bytes");
    return { body: data.slice(prefix.length, sepStart), signature: signature };
  }

  // Every check, each failure named; ok only when all passed.
  async function verify(input, pinned) {
    var failures = [], passed = [];
    if (!window.crypto || !crypto.subtle) {
      return { ok: false, failures: ["this browser has no Web Crypto (crypto.subtle)"], passed: [] };
    }
    var checkpoint = null, key = null;
    try {
      key = await parseVerifierKey(pinned || input.logKey);
      checkpoint = await verifyCheckpoint(input.checkpoint, key, input.origin);
      passed.push("checkpoint at tree size " + checkpoint.size + " signed by " + key.name + "+" + key.id);
    } catch (e) {
      failures.push("checkpoint: " + e.message);
    }
    for (var i = 0; i < input.links.length; i++) {
      var link = input.links[i], where = "entry #" + link.seq + " (" + link.role + ")";
      try {
        var data = b64decode(link.data, "its bytes");
        var parts = splitEntry(data);
        var body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(parts.body));
        if (body.seq !== link.seq) throw new Error("its body says seq " + body.seq);
        var publicKey = b64decode(link.publicKey || "", "its signer's key");
        if (hex(await sha256(publicKey)) !== body.signer) throw new Error("its signer's key is not the key " + body.signer + " the body names");
        if (!(await ed25519(publicKey, parts.signature, concat(enc.encode(ENTRY_DOMAIN), parts.body)))) {
          throw new Error("its signature does not verify");
        }
        if (checkpoint !== null) {
          var proof = link.proof.map(function (h) { return b64decode(h, "a proof hash"); });
          if (link.size !== checkpoint.size) throw new Error("its proof is for tree size " + link.size + ", the checkpoint's is " + checkpoint.size);
          var root = await rootFromInclusion(await leafHash(data), link.seq, link.size, proof);
          if (!equal(root, checkpoint.root)) throw new Error("its inclusion proof does not lead to the checkpoint's root");
        }
        passed.push(where);
      } catch (e) {
        failures.push(where + ": " + e.message);
      }
    }
    return { ok: failures.length === 0 && checkpoint !== null, failures: failures, passed: passed };
  }

  function pinnedKey(origin) {
    try { return localStorage.getItem(PIN_PREFIX + origin); } catch (e) { return null; }
  }

  async function run() {
    var holder = document.getElementById("verify-data");
    var out = document.getElementById("browser-verification");
    if (!holder || !out) return;
    var input = JSON.parse(holder.textContent);
    var pinned = pinnedKey(input.origin);
    var field = document.getElementById("pinned-key");
    if (field) field.value = pinned || input.logKey;
    var note = document.getElementById("pin-state");
    if (note) note.textContent = pinned ? "pinned in this browser" : "as served, not pinned";
    var result = await verify(input, pinned);
    out.className = result.ok ? "verified ok" : "verified bad";
    out.textContent = "";
    var head = document.createElement("strong");
    head.id = "verification-verdict";
    head.textContent = result.ok ? "Verified in your browser" : "Not verified in your browser";
    out.appendChild(head);
    var list = document.createElement("ul");
    list.id = "verification-details";
    (result.ok ? result.passed : result.failures).forEach(function (line) {
      var li = document.createElement("li");
      li.textContent = line;
      list.appendChild(li);
    });
    out.appendChild(list);
    window.claimsLedgerResult = result;
  }

  function wirePinning() {
    var form = document.getElementById("pin-form");
    if (!form) return;
    var input = JSON.parse(document.getElementById("verify-data").textContent);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      localStorage.setItem(PIN_PREFIX + input.origin, document.getElementById("pinned-key").value.trim());
      run();
    });
    document.getElementById("unpin").addEventListener("click", function () {
      localStorage.removeItem(PIN_PREFIX + input.origin);
      run();
    });
  }

  window.claimsLedger = { verify: verify, rootFromInclusion: rootFromInclusion, parseVerifierKey: parseVerifierKey };
  document.addEventListener("DOMContentLoaded", function () { wirePinning(); run(); });
})();
