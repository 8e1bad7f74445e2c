// Recovery side by side: the same two scenarios against two processes of ratchet's cluster
// example (history in a Redis stream) and two processes of Socket.IO 4 with its Redis
// Streams adapter and connection state recovery, both on the same Redis.
//
//   gap:     a listener on process A hears m0..m4 and drops; m5..m29 are said on A and
//            m30..m54 on B; it comes back to B with what it kept (offset / pid+offset),
//            then m55..m59 are said live. Expected: m5..m59, once each, in order.
//   traffic: a speaker says m0..m999, one a millisecond; a listener that heard up to m100
//            on A drops and comes back to B mid-stream. Expected: m101..m999, once each
//            (the chat keeps 200 lines: a gap of up to 200 ms is within its history).
//   burst:   the same, as fast as the speaker goes (a pause of 2 ms every 50): the gap
//            may outgrow the chat's history; then the recovery must say so.
//
// Usage: node recovery.mjs <redis url> <ratchet A ws url> <ratchet B ws url>
// Prints one JSON line per peer and scenario. `node recovery.mjs socketio <redis> <port>`
// is one Socket.IO process (started by the first form).
import { fork } from "node:child_process";
import { once } from "node:events";
import WebSocket from "ws";

const [mode, ...args] = process.argv.slice(2);

if (mode === "socketio") {
  const [redisUrl, port] = args;
  const { createClient } = await import("redis");
  const { Server } = await import("socket.io");
  const { createAdapter } = await import("@socket.io/redis-streams-adapter");
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const io = new Server({
    adapter: createAdapter(redis),
    connectionStateRecovery: { maxDisconnectionDuration: 120_000 },
  });
  io.on("connection", (socket) => {
    socket.on("say", (text) => io.emit("m", text));
  });
  io.listen(Number(port));
  process.send("ready");
} else {
  const [redisUrl, ratchetA, ratchetB] = [mode, ...args];
  const { io: connect } = await import("socket.io-client");
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // A peer: how to open a listener (optionally coming back with what an earlier one
  // kept), a speaker, and what a listener heard.
  const ratchet = {
    name: "ratchet",
    async listener(url, since) {
      const ws = new WebSocket(url + (since ? `?since=${since}` : ""));
      const heard = [];
      const state = { heard, last: null, recovered: null, ws };
      // A newcomer is sent the room's history first: only what follows it counts.
      let counting = Boolean(since);
      ws.on("message", (data) => {
        const m = JSON.parse(data);
        if ("recovered" in m) {
          state.recovered = m.recovered;
          counting = true;
        } else if (m.text !== undefined && counting) {
          if (m.offset) state.last = m.offset;
          const said = m.text.split(": ")[1];
          if (said) heard.push(said);
        }
      });
      await once(ws, "open");
      return state;
    },
    kept: (state) => state.last,
    drop: (state) => state.ws.terminate(),
    async speaker(url) {
      const ws = new WebSocket(url);
      await once(ws, "open");
      return { say: (t) => ws.send(t), close: () => ws.close() };
    },
  };

  const socketio = {
    name: "socket.io",
    async listener(url, kept) {
      const socket = connect(url, { transports: ["websocket"], reconnection: false, autoConnect: false });
      if (kept) {
        socket._pid = kept.pid;
        socket._lastOffset = kept.offset;
      }
      const heard = [];
      const state = { heard, socket, recovered: null };
      socket.on("m", (text) => heard.push(text));
      socket.connect();
      await once(socket, "connect");
      state.recovered = socket.recovered;
      return state;
    },
    kept: (state) => ({ pid: state.socket._pid, offset: state.socket._lastOffset }),
    drop: (state) => state.socket.io.engine.close(),
    async speaker(url) {
      const socket = connect(url, { transports: ["websocket"] });
      await once(socket, "connect");
      return { say: (t) => socket.emit("say", t), close: () => socket.close() };
    },
  };

  async function until(done, what, ms = 10_000) {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
      await sleep(5);
    }
  }

  // How `heard` compares with m<from>..m<to-1>.
  function verdict(heard, from, to) {
    const want = [];
    for (let i = from; i < to; i++) want.push(`m${i}`);
    const counts = new Map();
    for (const h of heard) counts.set(h, (counts.get(h) || 0) + 1);
    const missing = want.filter((w) => !counts.has(w)).length;
    const duplicates = [...counts.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
    const unique = heard.filter((h, i) => heard.indexOf(h) === i);
    const ordered = unique.every((h, i) => i === 0 || Number(h.slice(1)) > Number(unique[i - 1].slice(1)));
    return { expected: want.length, heard: heard.length, missing, duplicates, ordered };
  }

  async function gap(peer, urlA, urlB) {
    const speakerA = await peer.speaker(urlA);
    const speakerB = await peer.speaker(urlB);
    const witnessA = await peer.listener(urlA);
    const witnessB = await peer.listener(urlB);
    const listener = await peer.listener(urlA);
    for (let i = 0; i < 5; i++) speakerA.say(`m${i}`);
    await until(() => listener.heard.includes("m4"), "m4");
    const kept = peer.kept(listener);
    peer.drop(listener);
    await sleep(200);
    for (let i = 5; i < 30; i++) speakerA.say(`m${i}`);
    await until(() => witnessB.heard.includes("m29"), "m29 on B");
    for (let i = 30; i < 55; i++) speakerB.say(`m${i}`);
    await until(() => witnessA.heard.includes("m54"), "m54 on A");
    const back = await peer.listener(urlB, kept);
    await sleep(300);
    for (let i = 55; i < 60; i++) speakerA.say(`m${i}`);
    await until(() => witnessB.heard.includes("m59"), "m59 on B");
    await sleep(500);
    for (const c of [speakerA, speakerB]) c.close();
    for (const w of [witnessA, witnessB, back]) peer.drop(w);
    return { ...verdict(back.heard, 5, 60), recovered: back.recovered };
  }

  async function traffic(peer, urlA, urlB, burst) {
    const speaker = await peer.speaker(urlA);
    const witness = await peer.listener(urlB);
    const listener = await peer.listener(urlA);
    let said = 0;
    const talking = (async () => {
      for (; said < 1000; said++) {
        speaker.say(`m${said}`);
        if (!burst) await sleep(1);
        else if (said % 50 === 0) await sleep(2);
      }
    })();
    await until(() => listener.heard.includes("m100"), "m100");
    // What it heard up to m100 counts: the rest it must get from the recovery.
    const upTo = listener.heard.indexOf("m100");
    const kept = peer.kept(listener);
    peer.drop(listener);
    const extra = listener.heard.length - upTo - 1;
    const back = await peer.listener(urlB, kept);
    await talking;
    await until(() => witness.heard.includes("m999"), "m999 on B");
    await sleep(800);
    speaker.close();
    peer.drop(witness);
    peer.drop(back);
    // Heard after m100 on the first connection (before it dropped) and on the second.
    const heard = [...listener.heard.slice(upTo + 1, upTo + 1 + extra), ...back.heard];
    return { ...verdict(heard, 101, 1000), recovered: back.recovered };
  }

  const here = new URL(import.meta.url).pathname;
  const ports = [0, 1].map(() => 20000 + Math.floor(Math.random() * 20000));
  const servers = ports.map((port) => fork(here, ["socketio", redisUrl, String(port)], { stdio: "inherit" }));
  await Promise.all(servers.map((s) => once(s, "message")));
  const [sioA, sioB] = ports.map((p) => `http://127.0.0.1:${p}`);
  try {
    for (const [peer, a, b] of [
      [ratchet, ratchetA, ratchetB],
      [socketio, sioA, sioB],
    ]) {
      for (const [name, scenario] of [
        ["gap", gap],
        ["traffic", (peer, a, b) => traffic(peer, a, b, false)],
        ["burst", (peer, a, b) => traffic(peer, a, b, true)],
      ]) {
        const result = await scenario(peer, a, b);
        console.log(JSON.stringify({ peer: peer.name, scenario: name, ...result }));
      }
    }
  } finally {
    for (const s of servers) s.kill();
  }
  process.exit(0);
}
