"""A line-driven WebSocket client on the `websockets` package (RFC 6455).

    python3 ws_client.py URL [--compress] [--subprotocols A,B]

Prints "open" once connected (then, with --compress, "ext " and the negotiated
extensions) and "recv TEXT" for every message; reads "send TEXT" and
"quit" from standard input.
"""

import sys
import threading

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect


def main() -> None:
    url = sys.argv[1]
    compression = "deflate" if "--compress" in sys.argv[2:] else None
    offers = None
    if "--subprotocols" in sys.argv[2:]:
        offers = sys.argv[sys.argv.index("--subprotocols") + 1].split(",")
    with connect(url, compression=compression, subprotocols=offers, open_timeout=10) as ws:
        print("open", flush=True)
        if offers is not None:
            print(f"proto {ws.subprotocol}", flush=True)
        if compression:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "none")
            print(f"ext {extensions}", flush=True)

        def receive() -> None:
            try:
                for msg in ws:
                    text = msg if isinstance(msg, str) else msg.decode("utf-8", "replace")
                    print(f"recv {text}", flush=True)
            except ConnectionClosed:
                pass
            print("closed", flush=True)

        threading.Thread(target=receive, daemon=True).start()
        for line in sys.stdin:
            line = line.rstrip("\n")
            if line.startswith("send "):
                ws.send(line[5:])
            elif line == "quit":
                break


if __name__ == "__main__":
    main()
