#!/usr/bin/env python3
"""Screenshot a whole page (not just the window) in headless Chromium.

Chromium's --screenshot flag captures the viewport only, so a long report was cut off. This
starts Chromium with a DevTools port and asks it, over the DevTools protocol, for the page's
full height and a screenshot beyond the viewport. Python's standard library only (a minimal
WebSocket client), so nothing needs installing.

    scripts/full-page-screenshot.py URL OUT.png [WIDTH]
"""
import base64, json, os, socket, struct, subprocess, sys, tempfile, time, urllib.request


def ws_connect(url):
    host_port, path = url[len("ws://"):].split("/", 1)
    host, port = host_port.split(":")
    sock = socket.create_connection((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(1)
    if b" 101 " not in response.split(b"\r\n")[0]:
        raise RuntimeError(f"no WebSocket upgrade: {response[:80]!r}")
    return sock


def ws_send(sock, text):
    data = text.encode()
    header = bytes([0x81])
    n = len(data)
    if n < 126:
        header += bytes([0x80 | n])
    elif n < 65536:
        header += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        header += bytes([0x80 | 127]) + struct.pack(">Q", n)
    mask = os.urandom(4)
    sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))


def recv_exact(sock, n):
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise RuntimeError("DevTools closed the connection")
        out += chunk
    return out


def ws_recv(sock):
    message = b""
    while True:
        b0, b1 = recv_exact(sock, 2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", recv_exact(sock, 2))[0]
        elif n == 127:
            n = struct.unpack(">Q", recv_exact(sock, 8))[0]
        message += recv_exact(sock, n)
        if b0 & 0x80:
            return message.decode()


def call(sock, ids, method, params=None):
    ids[0] += 1
    ws_send(sock, json.dumps({"id": ids[0], "method": method, "params": params or {}}))
    while True:
        reply = json.loads(ws_recv(sock))
        if reply.get("id") == ids[0]:
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            return reply["result"]


def main():
    url, out = sys.argv[1], sys.argv[2]
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 1400
    port = 9300 + os.getpid() % 500
    profile = tempfile.mkdtemp(prefix="segmenter-shot-")
    browser = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--remote-debugging-port={port}", f"--user-data-dir={profile}", f"--window-size={width},900",
                                "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                page = next(t for t in targets if t.get("type") == "page")
                break
            except Exception:
                time.sleep(0.1)
        else:
            raise RuntimeError("Chromium did not open its DevTools port")
        sock, ids = ws_connect(page["webSocketDebuggerUrl"]), [0]
        call(sock, ids, "Page.enable")
        call(sock, ids, "Page.navigate", {"url": url})
        time.sleep(1.0)
        size = call(sock, ids, "Page.getLayoutMetrics")["cssContentSize"]
        height = int(size["height"]) + 1
        call(sock, ids, "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        shot = call(sock, ids, "Page.captureScreenshot",
                    {"format": "png", "captureBeyondViewport": True, "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
        with open(out, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        print(f"{width}x{height}")
    finally:
        browser.terminate()
        browser.wait(timeout=10)


if __name__ == "__main__":
    main()
