// End-to-end: the unmodified `amazon-connect-chatjs` from npm is the customer, a hand-written
// agent (REST through fetch + a `ws` websocket) is the other side, and confab is the server.
//
// Run with `node --test` in this folder (or ./run.sh). The confab binary comes from $CONFAB_BIN,
// default ../../target/debug/confab relative to this file. Every wait has a deadline; when a step
// fails, its error carries the tail of the frame/REST log and the whole log is written to a file.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WS from "ws";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONFAB_BIN = path.resolve(HERE, process.env.CONFAB_BIN || "../../target/debug/confab");
const REGION = "us-west-2";
const STEP_TIMEOUT_MS = 10_000;

const CT = {
  text: "text/plain",
  typing: "application/vnd.amazonaws.connect.event.typing",
  read: "application/vnd.amazonaws.connect.event.message.read",
  delivered: "application/vnd.amazonaws.connect.event.message.delivered",
  joined: "application/vnd.amazonaws.connect.event.participant.joined",
  left: "application/vnd.amazonaws.connect.event.participant.left",
  ended: "application/vnd.amazonaws.connect.event.chat.ended",
};

// ------------------------------------------------------------------------------------------
// Log of everything that crossed the wire, printed when something fails.

const T0 = Date.now();
const LOG = [];
function log(who, text) {
  const s = typeof text === "string" ? text : JSON.stringify(text);
  LOG.push(`[+${String(Date.now() - T0).padStart(5)}ms] ${who.padEnd(14)} ${s.length > 700 ? s.slice(0, 700) + "…" : s}`);
}
function logTail(n = 60) {
  return LOG.slice(-n).join("\n");
}

// ------------------------------------------------------------------------------------------
// Waiting with deadlines.

/** A list of observed things that can be waited on: waitFor looks at past and future entries. */
class Recorder {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }
  push(x) {
    this.items.push(x);
    for (const w of [...this.waiters]) {
      if (w.pred(x)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(x);
      }
    }
  }
  find(pred) {
    return this.items.find(pred);
  }
  waitFor(pred, what, ms = STEP_TIMEOUT_MS) {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(new Error(`timed out after ${ms} ms waiting for ${this.name}: ${what}`));
      }, ms);
      this.waiters.add(w);
    });
  }
}

function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Node's own fetch, kept before the logging wrapper for chatjs is installed.
const nodeFetch = globalThis.fetch;

// ------------------------------------------------------------------------------------------
// The confab server.

let server = null; // { proc, port, base, dataDir, output }

function startServer() {
  if (!existsSync(CONFAB_BIN)) {
    throw new Error(`confab binary not found at ${CONFAB_BIN} (build it with \`cargo build -p confab\` or set CONFAB_BIN)`);
  }
  const dataDir = mkdtempSync(path.join(tmpdir(), "confab-e2e-chatjs-"));
  const proc = spawn(CONFAB_BIN, ["serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NO_COLOR: "1" },
  });
  const output = [];
  const s = { proc, dataDir, output, port: 0, base: "" };
  server = s;
  process.on("exit", () => {
    try { proc.kill("SIGKILL"); } catch { /* already gone */ }
  });
  return withTimeout(
    new Promise((resolve, reject) => {
      let buf = "";
      proc.stdout.on("data", (d) => {
        buf += d;
        output.push(String(d));
        const m = buf.match(/confab listening on (http:\/\/127\.0\.0\.1:(\d+))/);
        if (m && !s.port) {
          s.base = m[1];
          s.port = Number(m[2]);
          resolve(s);
        }
      });
      proc.stderr.on("data", (d) => output.push(String(d)));
      proc.on("error", reject);
      proc.on("exit", (code, sig) => {
        if (!s.port) reject(new Error(`confab exited before listening (code ${code}, signal ${sig}):\n${output.join("")}`));
      });
    }),
    "confab to print 'confab listening on http://127.0.0.1:PORT'",
    20_000,
  );
}

async function stopServer() {
  if (!server) return;
  const { proc, dataDir } = server;
  if (proc.exitCode === null && proc.signalCode === null) {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    const done = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
    if (!done) {
      proc.kill("SIGKILL");
      await Promise.race([exited, sleep(2000)]);
    }
  }
  try { rmSync(dataDir, { recursive: true, force: true }); } catch { /* best effort */ }
}

// ------------------------------------------------------------------------------------------
// Plain REST (the control plane and the agent's participant calls).

async function rest(who, method, urlPath, { bearer, body } = {}) {
  const headers = { "content-type": "application/json" };
  if (bearer) headers["x-amz-bearer"] = bearer;
  const res = await withTimeout(
    nodeFetch(server.base + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    `${method} ${urlPath}`,
  );
  const text = await res.text();
  log(who, `${method} ${urlPath} ${body === undefined ? "" : JSON.stringify(body)} -> ${res.status} ${text}`);
  let json = null;
  try { json = text ? JSON.parse(text) : {}; } catch { /* left null */ }
  return { status: res.status, json, text, headers: res.headers };
}

async function restOk(who, method, urlPath, opts) {
  const r = await rest(who, method, urlPath, opts);
  assert.equal(r.status, 200, `${method} ${urlPath} returned ${r.status}: ${r.text}`);
  assert.ok(r.json && typeof r.json === "object", `${method} ${urlPath} did not return a JSON object: ${r.text}`);
  return r.json;
}

// ------------------------------------------------------------------------------------------
// Globals chatjs needs in Node 20 (CHATJS-PROTOCOL.md §g), set before the bundle is loaded.

const customerSockets = [];
class LoggedWebSocket extends WS {
  constructor(url, protocols) {
    super(url, protocols);
    const n = customerSockets.push(this);
    const who = `customer ws#${n}`;
    log(who, `new WebSocket(${url.replace(/AuthToken=[^&]+/, "AuthToken=…")})`);
    this.addEventListener("open", () => log(who, "open"));
    this.addEventListener("message", (ev) => log(who, `<= ${ev.data}`));
    this.addEventListener("close", (ev) => log(who, `closed ${ev.code} ${ev.reason}`));
    this.addEventListener("error", (ev) => log(who, `error ${ev.message || ev.error || ""}`));
  }
  send(data, ...rest) {
    log(`customer ws#${customerSockets.indexOf(this) + 1}`, `=> ${data}`);
    return super.send(data, ...rest);
  }
}

function installChatjsGlobals() {
  globalThis.self = globalThis;
  globalThis.window = globalThis;
  if (!globalThis.navigator || !("onLine" in globalThis.navigator)) {
    Object.defineProperty(globalThis, "navigator", {
      value: { userAgent: `Node.js/${process.version} confab-e2e`, onLine: true },
      configurable: true,
      writable: true,
    });
  }
  globalThis.WebSocket = LoggedWebSocket;
  // Log chatjs's own REST traffic (its bundled AWS SDK uses the global fetch).
  globalThis.fetch = async (input, init = {}) => {
    const req = input instanceof Request ? input : null;
    const url = req ? req.url : String(input);
    const method = (init.method || req?.method || "GET").toUpperCase();
    let body = init.body;
    if (body === undefined && req) body = await req.clone().text();
    const res = await nodeFetch(input, init);
    let text = "";
    try { text = await res.clone().text(); } catch { /* streaming body */ }
    if (url.startsWith(server?.base ?? "\0")) {
      log("chatjs rest", `${method} ${url.slice(server.base.length)} ${typeof body === "string" ? body : ""} -> ${res.status} ${text}`);
    }
    return res;
  };
}

// ------------------------------------------------------------------------------------------
// The agent: REST with fetch plus one websocket subscribed to aws/chat.

class AgentSocket {
  constructor(url) {
    this.frames = new Recorder("agent websocket frames");
    this.items = new Recorder("agent websocket aws/chat items");
    this.closed = new Recorder("agent websocket close");
    this.ws = new WS(url);
    this.ws.on("message", (data, isBinary) => {
      const text = String(data);
      log("agent ws", `<= ${isBinary ? "(binary) " : ""}${text}`);
      let frame;
      try { frame = JSON.parse(text); } catch { frame = { unparsable: text }; }
      this.frames.push(frame);
      if (frame.topic === "aws/chat") {
        let item;
        try { item = JSON.parse(frame.content); } catch { item = { unparsableContent: frame.content }; }
        this.items.push(item);
      }
    });
    this.ws.on("close", (code, reason) => {
      log("agent ws", `closed ${code} ${reason}`);
      this.closed.push({ code, reason: String(reason) });
    });
    this.ws.on("error", (e) => log("agent ws", `error ${e.message}`));
  }
  opened() {
    return withTimeout(
      new Promise((resolve, reject) => {
        this.ws.once("open", resolve);
        this.ws.once("error", reject);
      }),
      "agent websocket to open",
    );
  }
  send(obj) {
    const s = JSON.stringify(obj);
    log("agent ws", `=> ${s}`);
    this.ws.send(s);
  }
}

// ------------------------------------------------------------------------------------------
// Steps: each is one node:test test; after the first failure the rest are skipped.

let failed = false;
function step(name, fn) {
  test(name, { timeout: 4 * STEP_TIMEOUT_MS }, async (t) => {
    if (failed) {
      t.skip("an earlier step failed");
      return;
    }
    try {
      await fn(t);
    } catch (e) {
      failed = true;
      const file = path.join(tmpdir(), `confab-chatjs-e2e-${process.pid}.log`);
      try {
        writeFileSync(file, LOG.join("\n") + "\n\n--- confab output ---\n" + (server?.output.join("") ?? "") + "\n");
      } catch { /* ignore */ }
      const msg = `${e?.message ?? e}\n--- last frames (full log: ${file}) ---\n${logTail()}\n--- confab output (tail) ---\n${(server?.output.join("") ?? "").slice(-2000)}`;
      const err = new Error(msg);
      err.cause = e;
      throw err;
    }
  });
}

// Shared state across steps.
const S = {
  contact: null, // StartChatContact response
  session: null, // chatjs ChatSession
  cust: {
    messages: new Recorder("customer onMessage"),
    typing: new Recorder("customer onTyping"),
    read: new Recorder("customer onReadReceipt"),
    delivered: new Recorder("customer onDeliveredReceipt"),
    established: new Recorder("customer onConnectionEstablished"),
    ended: new Recorder("customer onChatEnded"),
    broken: new Recorder("customer onConnectionBroken"),
  },
  agent: { participantId: null, connectionToken: null, socket: null },
  custMessageId: null,
  agentMessageIds: [],
};

before(async () => {
  installChatjsGlobals();
  await startServer();
  log("test", `confab at ${server.base}`);
  await import("amazon-connect-chatjs");
  assert.ok(globalThis.connect?.ChatSession, "amazon-connect-chatjs did not define connect.ChatSession");
});

after(async () => {
  try {
    await stopServer();
  } finally {
    // chatjs's websocket manager keeps intervals alive; end the process once node:test has reported.
    setTimeout(() => process.exit(), 300);
  }
});

// ------------------------------------------------------------------------------------------

step("StartChatContact via fetch", async () => {
  const r = await restOk("control", "PUT", "/contact/chat", {
    body: {
      InstanceId: "e2e-instance",
      ContactFlowId: "e2e-flow",
      ParticipantDetails: { DisplayName: "Customer (chatjs)" },
    },
  });
  for (const k of ["ContactId", "ParticipantId", "ParticipantToken"]) {
    assert.equal(typeof r[k], "string", `StartChatContact response lacks ${k}: ${JSON.stringify(r)}`);
    assert.ok(r[k].length > 0, `StartChatContact ${k} is empty`);
  }
  S.contact = r;
});

step("chatjs ChatSession.create + connect()", async () => {
  const { ChatSession, LogLevel } = globalThis.connect;
  // chatjs logs `LEVEL ["statement", …] {session metadata}`: drop the metadata, it never changes.
  const chatjsLog = (...a) => log("chatjs log", a.map(String).join(" ").replace(/ \{"contactId":.*$/s, ""));
  const chatjsLogger = { debug: chatjsLog, info: chatjsLog, warn: chatjsLog, error: chatjsLog, log: chatjsLog };
  ChatSession.setGlobalConfig({
    region: REGION,
    endpoint: server.base,
    loggerConfig: { customizedLogger: chatjsLogger, advancedLogWriter: "info", level: LogLevel?.WARN ?? 30 },
    webSocketManagerConfig: { isNetworkOnline: () => true },
    features: { messageReceipts: { shouldSendMessageReceipts: true, throttleTime: 500 } },
    customUserAgentSuffix: "confab-e2e",
  });
  const session = ChatSession.create({
    chatDetails: {
      ContactId: S.contact.ContactId,
      ParticipantId: S.contact.ParticipantId,
      ParticipantToken: S.contact.ParticipantToken,
    },
    type: "CUSTOMER",
    disableCSM: true,
    options: { region: REGION },
  });
  assert.ok(session && session.controller, "ChatSession.create returned no usable session");
  S.session = session;
  const c = S.cust;
  session.onMessage((e) => { log("customer evt", `onMessage ${JSON.stringify(e.data)}`); c.messages.push(e.data); });
  session.onTyping((e) => { log("customer evt", `onTyping ${JSON.stringify(e.data)}`); c.typing.push(e.data); });
  session.onReadReceipt((e) => { log("customer evt", `onReadReceipt ${JSON.stringify(e.data)}`); c.read.push(e.data); });
  session.onDeliveredReceipt((e) => { log("customer evt", `onDeliveredReceipt ${JSON.stringify(e.data)}`); c.delivered.push(e.data); });
  session.onConnectionEstablished((e) => { log("customer evt", `onConnectionEstablished`); c.established.push(e ?? {}); });
  session.onConnectionBroken((e) => { log("customer evt", `onConnectionBroken ${JSON.stringify(e)}`); c.broken.push(e ?? {}); });
  session.onConnectionLost?.((e) => log("customer evt", `onConnectionLost ${JSON.stringify(e)}`));
  session.onEnded((e) => { log("customer evt", `onChatEnded`); c.ended.push(e ?? {}); });

  const res = await withTimeout(session.connect(), "chatjs session.connect()");
  log("customer evt", `connect() resolved ${JSON.stringify(res)}`);
  assert.equal(res?.connectSuccess, true, `connect() did not succeed: ${JSON.stringify(res)}`);
});

step("customer websocket opens and aws/subscribe succeeds", async () => {
  // Wait until chatjs opened a socket and the server acknowledged the subscription.
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ok = LOG.some((l) => /customer ws#\d+ +<= .*"topic":"aws\/subscribe"/.test(l) && /"status":"success"/.test(l));
    if (ok) break;
    await sleep(50);
  }
  assert.ok(customerSockets.length >= 1, "chatjs never opened a websocket (is the Websocket.Url ws://127.0.0.1:…?)");
  const subOk = LOG.find((l) => /customer ws#\d+ +<= .*"topic":"aws\/subscribe"/.test(l));
  assert.ok(subOk, "no aws/subscribe reply on the customer's websocket");
  assert.match(subOk, /"status":"success"/, "aws/subscribe was not answered with status success");
  assert.match(subOk, /"topics":\["aws\/chat"\]/, "aws/subscribe reply must carry topics:[\"aws/chat\"]");
  // chatjs fires CONNECTION_ESTABLISHED once on connect success and again on socket open.
  await S.cust.established.waitFor(() => S.cust.established.items.length >= 2, "second onConnectionEstablished (socket open)");
  assert.equal(S.cust.broken.items.length, 0, "onConnectionBroken fired");
});

step("agent joins: CreateParticipant(AGENT) + CreateParticipantConnection + websocket subscribe", async () => {
  const cp = await restOk("control", "POST", "/contact/create-participant", {
    body: {
      InstanceId: "e2e-instance",
      ContactId: S.contact.ContactId,
      ParticipantDetails: { ParticipantRole: "AGENT", DisplayName: "Agent" },
    },
  });
  const ptoken = cp?.ParticipantCredentials?.ParticipantToken;
  assert.equal(typeof ptoken, "string", `CreateParticipant lacks ParticipantCredentials.ParticipantToken: ${JSON.stringify(cp)}`);
  assert.equal(typeof cp.ParticipantId, "string", "CreateParticipant lacks ParticipantId");
  S.agent.participantId = cp.ParticipantId;

  const conn = await restOk("agent rest", "POST", "/participant/connection", {
    bearer: ptoken,
    body: { Type: ["WEBSOCKET", "CONNECTION_CREDENTIALS"], ConnectParticipant: true },
  });
  assert.equal(typeof conn?.Websocket?.Url, "string", `no Websocket.Url: ${JSON.stringify(conn)}`);
  assert.match(conn.Websocket.Url, /^ws:\/\/127\.0\.0\.1:\d+\//, "Websocket.Url must be ws://127.0.0.1:PORT/… for chatjs to accept it");
  assert.equal(typeof conn?.ConnectionCredentials?.ConnectionToken, "string", "no ConnectionCredentials.ConnectionToken");
  for (const [what, v] of [["Websocket.ConnectionExpiry", conn.Websocket.ConnectionExpiry], ["ConnectionCredentials.Expiry", conn.ConnectionCredentials.Expiry]]) {
    assert.match(String(v), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${what} must be yyyy-MM-ddTHH:mm:ss.SSSZ, got ${v}`);
  }
  S.agent.connectionToken = conn.ConnectionCredentials.ConnectionToken;

  const sock = new AgentSocket(conn.Websocket.Url);
  S.agent.socket = sock;
  await sock.opened();
  sock.send({ topic: "aws/subscribe", content: { topics: ["aws/chat"] } });
  const sub = await sock.frames.waitFor((f) => f.topic === "aws/subscribe", "the aws/subscribe reply");
  assert.deepEqual(sub.content, { status: "success", topics: ["aws/chat"] }, `unexpected subscribe reply ${JSON.stringify(sub)}`);
  // Liveness frames chatjs relies on.
  sock.send({ topic: "aws/heartbeat" });
  sock.send({ topic: "aws/ping" });
  await sock.frames.waitFor((f) => f.topic === "aws/heartbeat", "the aws/heartbeat reply");
  const ping = await sock.frames.waitFor((f) => f.topic === "aws/ping", "the aws/ping reply");
  assert.equal(ping.statusCode, 200, `aws/ping reply must have top-level statusCode 200: ${JSON.stringify(ping)}`);
  assert.equal(ping.statusContent, "OK", `aws/ping reply must have statusContent OK: ${JSON.stringify(ping)}`);
});

step("customer sees the agent's participant.joined", async () => {
  const joined = await S.cust.messages.waitFor(
    (m) => m.ContentType === CT.joined && m.ParticipantRole === "AGENT",
    "a participant.joined item for the AGENT",
  );
  assert.equal(joined.Type, "EVENT");
  assert.equal(joined.ParticipantId, S.agent.participantId);
});

step("customer sendMessage → agent socket receives it, customer gets its own echo", async () => {
  const text = "Hello from chatjs – ünïcode \"quoted\"";
  const res = await withTimeout(S.session.sendMessage({ contentType: CT.text, message: text }), "chatjs sendMessage");
  const id = res?.data?.Id;
  assert.equal(typeof id, "string", `sendMessage response lacks data.Id: ${JSON.stringify(res)}`);
  assert.match(String(res.data.AbsoluteTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, "SendMessage AbsoluteTime format");
  S.custMessageId = id;

  const sock = S.agent.socket;
  const onAgent = await sock.items.waitFor((i) => i.Id === id, `the customer's message ${id} on the agent socket`);
  assert.equal(onAgent.Type, "MESSAGE");
  assert.equal(onAgent.ContentType, CT.text);
  assert.equal(onAgent.Content, text);
  assert.equal(onAgent.ParticipantId, S.contact.ParticipantId);
  assert.equal(onAgent.ParticipantRole, "CUSTOMER");
  assert.equal(onAgent.DisplayName, "Customer (chatjs)");
  assert.equal(onAgent.ContactId, S.contact.ContactId, "pushed items must carry ContactId");
  assert.equal(onAgent.InitialContactId, S.contact.ContactId, "pushed items must carry InitialContactId");
  const frame = sock.frames.find((f) => f.topic === "aws/chat" && typeof f.content === "string" && f.content.includes(id));
  assert.equal(frame.contentType, "application/json", "aws/chat frames carry contentType application/json");

  const echo = await S.cust.messages.waitFor((m) => m.Id === id, `the echo of the customer's own message ${id} via onMessage`);
  assert.equal(echo.Content, text);
  assert.equal(echo.ParticipantRole, "CUSTOMER");
});

async function agentSendsMessage(text) {
  const r = await restOk("agent rest", "POST", "/participant/message", {
    bearer: S.agent.connectionToken,
    body: { ContentType: CT.text, Content: text, ClientToken: `agent-${Date.now()}-${Math.random()}` },
  });
  assert.equal(typeof r.Id, "string", `SendMessage lacks Id: ${JSON.stringify(r)}`);
  S.agentMessageIds.push(r.Id);
  const got = await S.cust.messages.waitFor((m) => m.Id === r.Id, `the agent's message ${r.Id} via customer onMessage`);
  assert.equal(got.Content, text);
  assert.equal(got.ParticipantRole, "AGENT");
  assert.equal(got.ParticipantId, S.agent.participantId);
  assert.equal(got.DisplayName, "Agent");
  return r.Id;
}

step("agent replies with REST SendMessage → customer onMessage", async () => {
  await agentSendsMessage("Hi, this is the agent. How can I help?");
});

step("customer sendEvent typing → agent socket sees the typing event", async () => {
  await withTimeout(S.session.sendEvent({ contentType: CT.typing }), "chatjs sendEvent typing");
  const typing = await S.agent.socket.items.waitFor(
    (i) => i.ContentType === CT.typing && i.ParticipantId === S.contact.ParticipantId,
    "a typing EVENT from the customer on the agent socket",
  );
  assert.equal(typing.Type, "EVENT");
  assert.equal(typing.ParticipantRole, "CUSTOMER");
});

step("agent sends a read receipt → customer onReadReceipt", async () => {
  const r = await restOk("agent rest", "POST", "/participant/event", {
    bearer: S.agent.connectionToken,
    body: { ContentType: CT.read, Content: JSON.stringify({ messageId: S.custMessageId }) },
  });
  assert.equal(typeof r.Id, "string", `SendEvent lacks Id: ${JSON.stringify(r)}`);
  const rr = await S.cust.read.waitFor(
    (m) => m?.MessageMetadata?.MessageId === S.custMessageId,
    `onReadReceipt for the customer's message ${S.custMessageId}`,
  );
  assert.equal(rr.Type, "MESSAGEMETADATA");
  const receipt = rr.MessageMetadata.Receipts?.[0];
  assert.equal(receipt?.RecipientParticipantId, S.agent.participantId, "receipt names the agent as the reader");
  assert.ok(receipt?.ReadTimestamp, "read receipt carries ReadTimestamp");
});

step("customer's chatjs sends delivered and read receipts for the agent's message; agent sees MESSAGEMETADATA", async () => {
  // chatjs itself does not decide when a message is delivered or read: a UI (for example
  // amazon-connect-chat-interface) calls sendEvent, and chatjs's MessageReceiptsUtil dedupes,
  // throttles and sends them (with its ClientToken quirk, CHATJS-PROTOCOL.md §c.3).
  const msgId = S.agentMessageIds[0];
  const sock = S.agent.socket;
  const content = JSON.stringify({ messageId: msgId });
  await withTimeout(S.session.sendEvent({ contentType: CT.delivered, content }), "chatjs sendEvent delivered receipt");
  const del = await sock.items.waitFor(
    (i) => i.Type === "MESSAGEMETADATA" && i.MessageMetadata?.MessageId === msgId && i.MessageMetadata?.Receipts?.[0]?.DeliveredTimestamp,
    `a delivered MESSAGEMETADATA item for ${msgId} on the agent socket`,
  );
  assert.equal(del.MessageMetadata.Receipts[0].RecipientParticipantId, S.contact.ParticipantId);

  await sleep(600); // past chatjs's receipt throttle window (500 ms here)
  await withTimeout(S.session.sendEvent({ contentType: CT.read, content }), "chatjs sendEvent read receipt");
  const rd = await sock.items.waitFor(
    (i) => i.Type === "MESSAGEMETADATA" && i.MessageMetadata?.MessageId === msgId && i.MessageMetadata?.Receipts?.[0]?.ReadTimestamp,
    `a read MESSAGEMETADATA item for ${msgId} on the agent socket`,
  );
  assert.equal(rd.MessageMetadata.Receipts[0].RecipientParticipantId, S.contact.ParticipantId);
  assert.equal(rd.ContactId, S.contact.ContactId);
});

step("second agent message: chatjs's next read receipt (same ClientToken INCOMING_READ_RECEIPT) still arrives", async () => {
  const msgId = await agentSendsMessage("Anything else?");
  await sleep(600);
  await withTimeout(
    S.session.sendEvent({ contentType: CT.read, content: JSON.stringify({ messageId: msgId }) }),
    "chatjs sendEvent read receipt #2",
  );
  const sent = LOG.filter((l) => l.includes("chatjs rest") && l.includes("/participant/event") && l.includes(msgId));
  assert.ok(sent.length >= 1, "chatjs did not call SendEvent for the second read receipt");
  await S.agent.socket.items.waitFor(
    (i) => i.Type === "MESSAGEMETADATA" && i.MessageMetadata?.MessageId === msgId && i.MessageMetadata?.Receipts?.[0]?.ReadTimestamp,
    `a read MESSAGEMETADATA item for ${msgId} (the server must not dedupe receipts on ClientToken alone)`,
  );
});

step("customer sendAttachment → ATTACHMENT item on both sides; downloadAttachment returns the same bytes", async () => {
  const bytes = new TextEncoder().encode("hello attachment from chatjs\n");
  const file = new File([bytes], "notes.txt", { type: "text/plain" });
  await withTimeout(S.session.sendAttachment({ attachment: file }), "chatjs sendAttachment");
  const onAgent = await S.agent.socket.items.waitFor((i) => i.Type === "ATTACHMENT", "an ATTACHMENT item on the agent socket");
  const att = onAgent.Attachments?.[0];
  assert.equal(att?.AttachmentName, "notes.txt");
  assert.equal(att?.ContentType, "text/plain");
  assert.equal(att?.Status, "APPROVED");
  assert.equal(onAgent.ParticipantRole, "CUSTOMER");
  await S.cust.messages.waitFor((m) => m.Type === "ATTACHMENT", "the ATTACHMENT item via the customer's onMessage");
  const blob = await withTimeout(S.session.downloadAttachment({ attachmentId: att.AttachmentId }), "chatjs downloadAttachment");
  const got = new Uint8Array(await blob.arrayBuffer());
  assert.deepEqual([...got], [...bytes], "the downloaded bytes are the uploaded ones");
});

step("customer getTranscript(BACKWARD, ASCENDING, 15) has the messages in order", async () => {
  const res = await withTimeout(
    S.session.getTranscript({ scanDirection: "BACKWARD", sortOrder: "ASCENDING", maxResults: 15 }),
    "chatjs getTranscript",
  );
  const data = res?.data;
  assert.ok(data && Array.isArray(data.Transcript), `getTranscript gave no Transcript: ${JSON.stringify(res)}`);
  assert.equal(data.InitialContactId, S.contact.ContactId, "GetTranscript must return InitialContactId");
  const items = data.Transcript;
  assert.ok(items.length <= 15, `MaxResults 15 but got ${items.length} items`);
  const times = items.map((i) => i.AbsoluteTime);
  assert.deepEqual(times, [...times].sort(), "ASCENDING order: AbsoluteTime must not decrease");
  const msgIds = items.filter((i) => i.Type === "MESSAGE").map((i) => i.Id);
  const want = [S.custMessageId, ...S.agentMessageIds];
  assert.deepEqual(msgIds, want, "the MESSAGE items (customer's, then the agent's) in order");
  const cm = items.find((i) => i.Id === S.custMessageId);
  assert.equal(cm.ParticipantRole, "CUSTOMER");
  assert.equal(cm.ContentType, CT.text);
  const am = items.find((i) => i.Id === S.agentMessageIds[0]);
  assert.equal(am.ParticipantRole, "AGENT");
  assert.ok(!items.some((i) => i.ContentType === CT.typing), "typing events are not persisted in the transcript");
  // Receipts are folded into the message item (SPEC §3.4).
  const rcpt = am.MessageMetadata?.Receipts?.find((r) => r.RecipientParticipantId === S.contact.ParticipantId);
  assert.ok(rcpt?.ReadTimestamp, `the agent's message should carry the customer's read receipt in MessageMetadata: ${JSON.stringify(am)}`);
});

step("customer disconnectParticipant → participant.left + chat.ended, onChatEnded, sockets closed", async () => {
  const sock = S.agent.socket;
  await withTimeout(S.session.disconnectParticipant(), "chatjs disconnectParticipant");

  // The agent socket: participant.left for the customer, then chat.ended, then a server close.
  const left = await sock.items.waitFor(
    (i) => i.ContentType === CT.left && i.ParticipantId === S.contact.ParticipantId,
    "participant.left (customer) on the agent socket",
  );
  const ended = await sock.items.waitFor((i) => i.ContentType === CT.ended, "chat.ended on the agent socket");
  assert.ok(sock.items.items.indexOf(left) < sock.items.items.indexOf(ended), "participant.left must come before chat.ended");
  assert.equal(ended.Type, "EVENT");
  const close = await sock.closed.waitFor(() => true, "the server to close the agent websocket after chat.ended");
  assert.equal(close.code, 1000, `agent socket closed with ${close.code}, expected 1000 (normal closure)`);

  // The customer: chatjs ≥4 waits for chat.ended from the server.
  await S.cust.messages.waitFor((m) => m.ContentType === CT.ended, "chat.ended via customer onMessage");
  await S.cust.ended.waitFor(() => true, "customer onChatEnded");
  const custLeft = S.cust.messages.items.findIndex((m) => m.ContentType === CT.left && m.ParticipantId === S.contact.ParticipantId);
  const custEnded = S.cust.messages.items.findIndex((m) => m.ContentType === CT.ended);
  assert.ok(custLeft >= 0 && custLeft < custEnded, "the leaver (customer) also gets participant.left before chat.ended");
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  while (customerSockets.some((s) => s.readyState !== WS.CLOSED) && Date.now() < deadline) await sleep(50);
  assert.ok(customerSockets.every((s) => s.readyState === WS.CLOSED), "the customer's websocket(s) did not close");
  assert.equal(S.cust.broken.items.length, 0, "onConnectionBroken fired");
});

step("after the end: the agent's token is refused with 403 AccessDeniedException", async () => {
  const r = await rest("agent rest", "POST", "/participant/message", {
    bearer: S.agent.connectionToken,
    body: { ContentType: CT.text, Content: "too late" },
  });
  assert.equal(r.status, 403, `expected 403, got ${r.status} ${r.text}`);
  assert.equal(r.headers.get("x-amzn-errortype"), "AccessDeniedException");
});
