// The Node.js peer of the compressed echo benchmark: `ws` 8 with perMessageDeflate (its
// defaults, as a user turns it on), echoing every message. Usage: node echo.mjs --bind ADDR
// Prints "listening on ADDR" once it listens.
import { WebSocketServer } from "ws";

const at = process.argv.indexOf("--bind");
const [host, port] = (at > 0 ? process.argv[at + 1] : "127.0.0.1:9004").split(":");
const server = new WebSocketServer({ host, port: Number(port), perMessageDeflate: true });
server.on("listening", () => {
  const { address, port } = server.address();
  console.log(`listening on ${address}:${port}`);
});
server.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
