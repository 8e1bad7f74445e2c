"""A feed the relay test consumes: Python's `websockets`, publishing numbered messages.

    feed.py PORT FROM

Listens on 127.0.0.1:PORT (0 for a free one), prints "listening on PORT", and every
10 ms sends the next number (FROM, FROM + 1, ...) as a text message to every connection.
"""

import asyncio
import sys

from websockets.asyncio.server import broadcast, serve


async def main(port, first):
    async def hold(ws):
        await ws.wait_closed()

    async with serve(hold, "127.0.0.1", port) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening on {port}", flush=True)
        n = first
        while True:
            await asyncio.sleep(0.01)
            broadcast(server.connections, str(n))
            n += 1


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
