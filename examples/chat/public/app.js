// The chat page: joins /chat on the page's own host and shows who comes, who goes and
// what they say. Protocol: see examples/chat/main.rs.
"use strict";

const $ = (id) => document.getElementById(id);
const log = $("log");
const here = new Map(); // name -> number of connections under that name
let socket = null;
let me = null;

function line(kind, parts) {
  const li = document.createElement("li");
  li.className = kind;
  for (const [cls, text] of parts) {
    const span = document.createElement("span");
    if (cls) span.className = cls;
    span.textContent = text;
    li.append(span);
  }
  log.append(li);
  log.scrollTop = log.scrollHeight;
}

function event(text) {
  line("event", [[null, text]]);
}

function renderPeople() {
  const list = $("here");
  list.replaceChildren();
  for (const name of [...here.keys()].sort()) {
    const li = document.createElement("li");
    li.textContent = name === me ? `${name} (you)` : name;
    list.append(li);
  }
}

function setStatus(text, online) {
  $("status").textContent = text;
  $("status").classList.toggle("online", online);
  $("status").classList.toggle("offline", !online);
}

function arrive(name) {
  here.set(name, (here.get(name) || 0) + 1);
}

function leave(name) {
  const n = (here.get(name) || 0) - 1;
  if (n > 0) here.set(name, n);
  else here.delete(name);
}

function join(name) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/chat?name=${encodeURIComponent(name)}`);
  setStatus("connecting…", false);

  socket.addEventListener("message", (e) => {
    const msg = JSON.parse(e.data);
    switch (msg.type) {
      case "welcome":
        me = msg.name;
        here.clear();
        msg.here.forEach(arrive);
        arrive(me);
        setStatus(`connected as ${me}`, true);
        event(`You joined as ${me}.` + (msg.here.length ? ` Here: ${msg.here.join(", ")}.` : " Nobody else is here yet."));
        $("join").hidden = true;
        $("say").hidden = false;
        $("people").hidden = false;
        $("text").focus();
        break;
      case "joined":
        arrive(msg.name);
        event(`${msg.name} joined`);
        break;
      case "left":
        leave(msg.name);
        event(`${msg.name} left`);
        break;
      case "message":
        line("message", [["who", msg.name], ["text", msg.text]]);
        break;
    }
    renderPeople();
  });

  socket.addEventListener("close", () => {
    setStatus("disconnected", false);
    event("Connection closed.");
    $("say").hidden = true;
    $("join").hidden = false;
  });
}

$("join").addEventListener("submit", (e) => {
  e.preventDefault();
  const name = $("name").value.trim();
  if (name) join(name);
});

$("say").addEventListener("submit", (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
  socket.send(text);
  line("message mine", [["who", me], ["text", text]]);
  $("text").value = "";
});
