// The cluster chat's page: joins /chat on the page's own host (with the page's ?name=),
// shows the room's last lines, then the live ones. When the socket drops it comes back
// with the offset of the last line it showed, on whichever process answers, and gets
// exactly what it missed. Protocol: see examples/cluster/main.rs.
"use strict";

const $ = (id) => document.getElementById(id);
const name = new URLSearchParams(location.search).get("name") || "";
let last = null; // the offset of the last line shown
let socket = null;
const here = new Map(); // client -> name, of everyone in the room

function renderHere() {
  const names = [...here.values()].sort();
  $("here").textContent = names.length ? `here: ${names.join(", ")}` : "";
}

function show(kind, text) {
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = text;
  $("log").append(li);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = new URLSearchParams({ name });
  if (last) query.set("since", last);
  socket = new WebSocket(`${scheme}://${location.host}/chat?${query}`);
  socket.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.welcome) {
      $("status").textContent = `connected as ${m.welcome}`;
    } else if ("recovered" in m) {
      if (!m.recovered && last) show("gap", "(some lines were missed)");
    } else if (m.presence) {
      here.clear();
      for (const member of m.presence) here.set(member.client, member.info);
      renderHere();
    } else if (m.joined || m.left) {
      const member = m.joined || m.left;
      if (m.joined) here.set(member.client, member.info);
      else here.delete(member.client);
      show("event", `${member.info} ${m.joined ? "joined" : "left"}`);
      renderHere();
    } else {
      if (m.offset) last = m.offset;
      show("said", m.text);
    }
  };
  socket.onclose = () => {
    $("status").textContent = "reconnecting…";
    setTimeout(connect, 500);
  };
}

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (text && socket.readyState === WebSocket.OPEN) {
    socket.send(text); // shown as it comes back, numbered
    $("text").value = "";
  }
});

// For the tests: the socket, the lines shown, and who is here.
window.chat = {
  get socket() {
    return socket;
  },
  lines: () => [...$("log").children].map((li) => li.textContent),
  here: () => [...here.values()].sort(),
};
connect();
