// claims-ledger: a claim's provenance checked in the reader's browser with Web Crypto
// (SHA-256, Ed25519), trusting nothing the server computed. docs/pages.md, "Verified in
// your browser"; the same checks as ledger/entries.py, ledger/merkle.py and
// ledger/checkpoint.py, ledger/rules.py (key validity) and ledger/completeness.py (the
// claim-state map), tested against them in tests/browser/test_pages_browser.py.
(function () {
  "use strict";

  var ENTRY_DOMAIN = "claims-ledger/entry/v1\n";
  var STATE_MAP_PREFIX = "claims-ledger/state-map/v1 ";
  // The role each kind of entry needs of its signer's key (ledger/rules.py ROLE_FOR_KIND).
  var ROLE_FOR_KIND = {
    "source.registered": "writer", "claim.extracted": "writer", "claim.revised": "writer",
    "claim.retracted": "writer", "claim.reviewed": "reviewer"
  };
  var LOG_KEY_ROLES = ["admin", "writer", "reviewer", "log"];
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
    var mapRoot = null;
    for (var n = 3; n < body.length; n++) {  // extension lines: only the state-map line is read
      if (body[n].indexOf(STATE_MAP_PREFIX) !== 0) continue;
      if (mapRoot !== null) throw new Error("checkpoint line " + (n + 1) + " is a second state-map line");
      mapRoot = b64decode(body[n].slice(STATE_MAP_PREFIX.length), "the checkpoint's state-map root");
      if (mapRoot.length !== 32) throw new Error("the checkpoint's state-map root is not 32 bytes");
    }
    return { size: Number(body[1]), root: root, mapRoot: mapRoot };
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

  function parseBody(parts) {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(parts.body));
  }

  // An entry given with its inclusion proof (a key's registration or revocation): its
  // bytes framed, its body at the seq given, and its proof leading to the checkpoint's root.
  async function provenEntry(ref, checkpoint) {
    var data = b64decode(ref.data, "its bytes");
    var body = parseBody(splitEntry(data));
    if (body.seq !== ref.seq) throw new Error("its body says seq " + body.seq);
    if (checkpoint !== null) {
      if (ref.size !== checkpoint.size) throw new Error("its proof is for tree size " + ref.size + ", the checkpoint's is " + checkpoint.size);
      var proof = ref.proof.map(function (h) { return b64decode(h, "a proof hash"); });
      var root = await rootFromInclusion(await leafHash(data), ref.seq, ref.size, proof);
      if (!equal(root, checkpoint.root)) throw new Error("its inclusion proof does not lead to the checkpoint's root");
    }
    return body;
  }

  // The signer's key as its own entries say, each proven in the checkpoint: registered
  // (key.registered, or log.key.rotated for a log key) before the entry, not revoked
  // (key.revoked, or a rotation signed by it) before it, with the role its kind needs;
  // as ledger/rules.py (KeyState.valid_at, check_signer) and ledger/client.py do.
  async function checkKey(body, publicKey, keys, checkpoint) {
    var given = keys && Object.prototype.hasOwnProperty.call(keys, body.signer) ? keys[body.signer] : null;
    if (!given || !given.registration) throw new Error("no registration entry is given for its key " + body.signer);
    var reg;
    try { reg = await provenEntry(given.registration, checkpoint); }
    catch (e) { throw new Error("its key's registration entry #" + given.registration.seq + ": " + e.message); }
    var p = reg.payload || {};
    var rotated = reg.kind === "log.key.rotated";
    if (!(reg.kind === "key.registered" || rotated) || p.key_id !== body.signer) {
      throw new Error("entry #" + reg.seq + " does not register its key " + body.signer);
    }
    if (!equal(b64decode(p.public_key || "", "the registered public key"), publicKey)) {
      throw new Error("entry #" + reg.seq + " registers another public key for " + body.signer);
    }
    var name = p.name;
    if (!(reg.seq < body.seq || (reg.seq === 0 && body.seq === 0))) {
      throw new Error("its key " + name + " is registered at entry #" + reg.seq + ", not before it");
    }
    if (given.revocation) {
      var rev;
      try { rev = await provenEntry(given.revocation, checkpoint); }
      catch (e) { throw new Error("its key's revocation entry #" + given.revocation.seq + ": " + e.message); }
      var revokes = (rev.kind === "key.revoked" && rev.payload && rev.payload.key_id === body.signer) ||
        (rev.kind === "log.key.rotated" && rev.signer === body.signer);
      if (!revokes) throw new Error("entry #" + rev.seq + " does not revoke its key " + body.signer);
      if (body.seq > rev.seq) throw new Error("its key " + name + " was revoked at entry #" + rev.seq + ", before it");
    }
    var roles = rotated ? LOG_KEY_ROLES : (p.roles || []);
    var needed = ROLE_FOR_KIND[body.kind];
    if (!needed) throw new Error("a " + body.kind + " entry is not a link of a claim's chain");
    if (roles.indexOf(needed) < 0) throw new Error("its key " + name + " lacks the '" + needed + "' role a " + body.kind + " entry needs");
  }

  // -- the claim-state map (docs/formats/state-map.md) --
  function bitOf(key, depth) { return (key[depth >> 3] >> (7 - (depth & 7))) & 1; }

  // kind (1) ‖ depth (2) ‖ bitmap ‖ listed siblings ‖ value | other key ‖ other value.
  function parseStateProof(data) {
    if (data.length < 3) throw new Error("the state proof is shorter than its header");
    var kind = data[0], depth = (data[1] << 8) | data[2];
    if (kind > 2) throw new Error("the state proof's kind " + kind + " is not 0, 1 or 2");
    if (depth > 256) throw new Error("the state proof's depth " + depth + " is over 256");
    var width = (depth + 7) >> 3, at = 3 + width, siblings = [], listed = 0, i;
    if (data.length < at) throw new Error("the state proof ends inside its bitmap");
    for (i = 0; i < depth; i++) if (bitOf(data.subarray(3, 3 + width), i)) listed++;
    for (i = depth; i < width * 8; i++) if (bitOf(data.subarray(3, 3 + width), i)) throw new Error("the state proof's unused bitmap bits are not zero");
    var tail = [0, 1, 2][kind];
    if (data.length !== at + 32 * (listed + tail)) throw new Error("the state proof is " + data.length + " bytes, expected " + (at + 32 * (listed + tail)));
    var empty = new Uint8Array(32);
    for (i = 0; i < depth; i++) {
      if (bitOf(data.subarray(3, 3 + width), i)) {
        var sibling = data.slice(at, at + 32);
        if (equal(sibling, empty)) throw new Error("the state proof lists an empty sibling at depth " + (i + 1));
        siblings.push(sibling); at += 32;
      } else {
        siblings.push(empty);
      }
    }
    var fields = [];
    for (i = 0; i < tail; i++) { fields.push(data.slice(at, at + 32)); at += 32; }
    return { kind: kind, siblings: siblings, value: kind === 1 ? fields[0] : null,
             otherKey: kind === 2 ? fields[0] : null, otherValue: kind === 2 ? fields[1] : null };
  }

  async function stateRoot(key, proof) {
    var depth = proof.siblings.length, h, d;
    var tagged = function (tag, a, b) { return sha256(concat(new Uint8Array([tag]), a, b)); };
    if (proof.kind === 1) {
      h = await tagged(0x10, key, proof.value);
    } else if (proof.kind === 2) {
      if (equal(proof.otherKey, key)) throw new Error("the state proof's other leaf is the key itself");
      for (d = 0; d < depth; d++) if (bitOf(proof.otherKey, d) !== bitOf(key, d)) throw new Error("the state proof's other leaf is not on the key's path");
      h = await tagged(0x10, proof.otherKey, proof.otherValue);
    } else {
      h = new Uint8Array(32);
    }
    if (depth && equal(proof.siblings[depth - 1], new Uint8Array(32))) throw new Error("the state proof ends beside an empty subtree");
    for (d = depth; d > 0; d--) {
      h = bitOf(key, d - 1) ? await tagged(0x11, proof.siblings[d - 1], h) : await tagged(0x11, h, proof.siblings[d - 1]);
    }
    return h;
  }

  // The claim's latest entry as of the checkpoint, by the state proof against its map
  // root, must be the chain's last link: else a later revision, review or retraction was
  // left out (ledger/completeness.py check_served_latest). Returns what was proven.
  async function checkState(input, claimHashes, checkpoint) {
    if (input.stateProof === null || input.stateProof === undefined) {
      if (checkpoint.mapRoot !== null) throw new Error("no state proof is given, though the checkpoint commits to a claim-state map");
      return "unproven: the checkpoint at tree size " + checkpoint.size + " carries no claim-state map root";
    }
    if (checkpoint.mapRoot === null) throw new Error("the checkpoint carries no claim-state map root to check the state proof against");
    if (!/^[0-9a-f]{64}$/.test(input.claimId || "")) throw new Error("the claim id is not 64 hex digits");
    var claimId = new Uint8Array(input.claimId.match(/../g).map(function (b) { return parseInt(b, 16); }));
    if (!claimHashes.length) throw new Error("the provenance holds none of the claim's entries");
    if (!equal(claimHashes[0], claimId)) throw new Error("the chain's first claim entry is not the extraction whose hash is the claim id");
    var key = await sha256(concat(new Uint8Array([0x12, 0x01]), claimId));
    var proof = parseStateProof(b64decode(input.stateProof, "the state proof"));
    if (!equal(await stateRoot(key, proof), checkpoint.mapRoot)) throw new Error("the state proof does not lead to the checkpoint's claim-state map root");
    if (proof.kind !== 1) throw new Error("the claim-state map proves the claim absent at tree size " + checkpoint.size + ", yet the provenance shows its entries");
    var last = claimHashes[claimHashes.length - 1];
    if (!equal(proof.value, last)) {
      var earlier = claimHashes.some(function (h) { return equal(h, proof.value); });
      throw new Error("the claim's latest entry at tree size " + checkpoint.size + " is " + hex(proof.value) +
        (earlier ? ", an earlier one than the chain's last" : ", one the chain does not show: a revision, review or retraction was hidden"));
    }
    return "the claim's latest entry at tree size " + checkpoint.size + " is the chain's last (claim-state map)";
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
    var claimHashes = [];
    for (var i = 0; i < input.links.length; i++) {
      var link = input.links[i], where = "entry #" + link.seq + " (" + link.role + ")";
      try {
        var data = b64decode(link.data, "its bytes");
        var parts = splitEntry(data);
        var body = parseBody(parts);
        if (body.seq !== link.seq) throw new Error("its body says seq " + body.seq);
        if (link.role !== "source") claimHashes.push(await leafHash(data));
        var publicKey = b64decode(link.publicKey || "", "its signer's key");
        if (hex(await sha256(publicKey)) !== body.signer) throw new Error("its signer's key is not the key " + body.signer + " the body names");
        if (!(await ed25519(publicKey, parts.signature, concat(enc.encode(ENTRY_DOMAIN), parts.body)))) {
          throw new Error("its signature does not verify");
        }
        await checkKey(body, publicKey, input.keys, checkpoint);
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
    if (input.omitted) passed.push(input.omitted + " links between those shown are on other pages of the claim's events (not checked here)");
    if (checkpoint !== null && input.latest === false) {
      passed.push("state: not checked on this page (later events exist: the latest page checks that its last link is the claim's latest entry)");
    } else if (checkpoint !== null) {
      try {
        passed.push("state: " + (await checkState(input, claimHashes, checkpoint)));
      } catch (e) {
        failures.push("state: " + e.message);
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

  window.claimsLedger = {
    verify: verify, rootFromInclusion: rootFromInclusion, parseVerifierKey: parseVerifierKey,
    parseStateProof: parseStateProof, stateRoot: stateRoot
  };
  document.addEventListener("DOMContentLoaded", function () { wirePinning(); run(); });
})();
