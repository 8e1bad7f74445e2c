"""An echo server the project did not write, for the outbound tests: Python's `websockets`.

    websockets_echo.py [--tls CERT KEY] [--no-compression]

Prints "listening on PORT" once it listens on 127.0.0.1 (a free port), then, for each
connection, "extensions VALUE" (what it agreed to), and echoes every message.
"""

import asyncio
import ssl
import sys

from websockets.asyncio.server import serve


async def echo(ws):
    print("extensions", ws.response.headers.get("Sec-WebSocket-Extensions"), flush=True)
    async for msg in ws:
        await ws.send(msg)


async def main(args):
    context = None
    if "--tls" in args:
        at = args.index("--tls")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args[at + 1], args[at + 2])
    compression = None if "--no-compression" in args else "deflate"
    async with serve(
        echo, "127.0.0.1", 0, ssl=context, compression=compression, max_size=None
    ) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        await asyncio.get_running_loop().create_future()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
