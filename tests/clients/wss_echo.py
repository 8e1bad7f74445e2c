"""A wss:// client for the TLS tests (Python's `websockets` and `ssl`).

    wss_echo.py URL CAFILE SIZE...   sends a binary message of each size, checks its echo,
                                     prints "ok SIZE" for each, then "cert SHA256"
    wss_echo.py --cert HOST PORT SERVERNAME CAFILE
                                     prints "cert SHA256" of the certificate served for
                                     SERVERNAME (verified against CAFILE)
"""

import hashlib
import os
import socket
import ssl
import sys


def context(cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def fingerprint(der):
    return hashlib.sha256(der).hexdigest()


def cert(host, port, servername, cafile):
    ctx = context(cafile)
    ctx.set_alpn_protocols(["http/1.1"])
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=servername) as tls:
            print("cert", fingerprint(tls.getpeercert(binary_form=True)), flush=True)
            print("version", tls.version(), flush=True)
            print("alpn", tls.selected_alpn_protocol(), flush=True)


def echo(url, cafile, sizes):
    from websockets.sync.client import connect

    with connect(url, ssl=context(cafile), max_size=None, open_timeout=10) as ws:
        for size in sizes:
            payload = os.urandom(size)
            ws.send(payload)
            back = ws.recv(timeout=30)
            if back != payload:
                print("mismatch", size, len(back), flush=True)
                sys.exit(1)
            print("ok", size, flush=True)
        print("extensions", ws.response.headers.get("Sec-WebSocket-Extensions"), flush=True)
        der = ws.socket.getpeercert(binary_form=True)
        print("cert", fingerprint(der), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--cert":
        cert(*sys.argv[2:6])
    else:
        echo(sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3:]])
