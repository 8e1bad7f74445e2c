// An echo server the project did not write, for the outbound tests: Node's `ws`.
//
//     node ws_echo.mjs [--tls CERT KEY] [--no-compression]
//
// Prints "listening on PORT" once it listens on 127.0.0.1 (a free port), then, for each
// connection, "extensions VALUE" (what it agreed to), and echoes every message.
import { WebSocketServer } from "ws";
import { createServer } from "node:https";
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const options = {
  perMessageDeflate: !args.includes("--no-compression"),
  maxPayload: 64 << 20,
};
const tls = args.indexOf("--tls");
let wss;
let listener;
if (tls >= 0) {
  listener = createServer({ cert: readFileSync(args[tls + 1]), key: readFileSync(args[tls + 2]) });
  wss = new WebSocketServer({ server: listener, ...options });
  listener.listen(0, "127.0.0.1");
} else {
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0, ...options });
  listener = wss;
}
listener.on("listening", () => console.log(`listening on ${listener.address().port}`));
wss.on("connection", (ws) => {
  console.log(`extensions ${ws.extensions || "None"}`);
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
