#!/usr/bin/env python3
"""A minimal reference controller for bench/load: talkgate's auto-answer ladder (ARI events
WebSocket + REST, the HEP copy of Genesys's NOTIFY talk, AMI PJSIPNotify to the agent leg)
on one asyncio event loop, Python standard library only, so bench/load can measure
talkgate against it in the same run. It reads talkgate's env file (the same lab settings).

Only the happy path and hangups: no resync, hold, timers, bridge API or status API. A
yardstick for CPU per call and latency, not a product.

    python3 bench/reference/controller.py CONFIG_ENV_FILE
"""
import asyncio
import base64
import itertools
import json
import os
import socket
import struct
import sys
import time
import urllib.parse

REST_CONNECTIONS = 48  # as talkgate's RestClient: below Asterisk's http.conf sessionlimit (100)
REST_TIMEOUT_S = 10
IDLE_REUSE_S = 10  # Asterisk closes keep-alive connections idle for 15 s (http.conf)
AGENT_ARG = "talkgate-agent"


def log(msg, flush=False):
    print("reference: " + msg, flush=flush)


def load_env(path):
    env = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                env[k.strip()] = v.strip()
    return env


def host_port(text, default_port):
    host, _, port = text.rpartition(":")
    return (host, int(port)) if host else (text, default_port)


class Rest:
    """ARI REST over a bounded pool of keep-alive HTTP/1.1 connections."""

    def __init__(self, host, port, auth):
        self.host, self.port, self.auth = host, port, auth
        self.idle = []
        self.slots = asyncio.Semaphore(REST_CONNECTIONS)

    async def _once(self, conn, method, path, body):
        r, w = conn
        head = (f"{method} /ari{path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Basic {self.auth}\r\nContent-Length: {len(body)}\r\n")
        if body:
            head += "Content-Type: application/json\r\n"
        w.write(head.encode() + b"\r\n" + body)
        status_line = await r.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while True:
            line = await r.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection" and value.strip().lower() == "close":
                close = True
        data = await r.readexactly(length) if length else b""
        return status, data, close

    def _pooled(self):
        now = time.monotonic()
        while self.idle:
            conn, since = self.idle.pop()
            if now - since < IDLE_REUSE_S:
                return conn
            conn[1].close()
        return None

    async def call(self, method, path, body=b""):
        async with self.slots:
            for attempt in range(2):  # a pooled connection Asterisk closed: retry on a new one
                conn = self._pooled() if attempt == 0 else None
                reused = conn is not None
                if conn is None:
                    conn = await asyncio.open_connection(self.host, self.port)
                try:
                    status, data, close = await asyncio.wait_for(
                        self._once(conn, method, path, body), REST_TIMEOUT_S)
                except (ConnectionError, asyncio.IncompleteReadError, ValueError, IndexError) as e:
                    conn[1].close()
                    if reused and attempt == 0:
                        continue
                    raise ConnectionError(f"{method} {path}: {e!r}") from e
                except asyncio.TimeoutError:
                    conn[1].close()
                    raise
                if close:
                    conn[1].close()
                else:
                    self.idle.append((conn, time.monotonic()))
                return status, data
        raise ConnectionError("unreachable")


class Call:
    __slots__ = ("key", "dn", "call_id", "uuid", "genesys", "agent", "agent_name", "bridge",
                 "ringing", "talk_pending", "talk_sent", "bridged", "ended")

    def __init__(self, key, dn, call_id, uuid, agent, bridge):
        self.key, self.dn, self.call_id, self.uuid = key, dn, call_id, uuid
        self.genesys, self.agent, self.agent_name, self.bridge = key, agent, "", bridge
        self.ringing = self.talk_pending = self.talk_sent = self.bridged = self.ended = False


class Controller:
    def __init__(self, env):
        self.env = env
        self.app = env["ARI_APP"]
        url = urllib.parse.urlsplit(env["ARI_URL"])
        self.ari_host, self.ari_port = url.hostname, url.port or 80
        self.auth = base64.b64encode(f"{env['ARI_USER']}:{env['ARI_PASSWORD']}".encode()).decode()
        self.rest = Rest(self.ari_host, self.ari_port, self.auth)
        self.genesys_ip = env["GENESYS_SIP_HOST"]
        self.calls = {}  # channel id (either leg) -> Call
        self.by_call_id = {}  # Genesys SIP Call-ID -> Call
        self.ids = itertools.count(1)
        self.tag = os.urandom(4).hex()
        self.ami_w = None
        self.tasks = set()

    def spawn(self, coro):
        t = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(t)
        t.add_done_callback(self._done)

    def _done(self, t):
        self.tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log(f"task failed: {t.exception()!r}")

    async def rest_call(self, method, path, body=b""):
        status, data = await self.rest.call(method, path, body)
        if status >= 300 and status != 404:
            log(f"{method} {path}: HTTP {status} {data[:200]!r}")
        return status, data

    # --- ARI events ---------------------------------------------------------------------

    async def ari_events(self):
        r, w = await asyncio.open_connection(self.ari_host, self.ari_port)
        key = base64.b64encode(os.urandom(16)).decode()
        w.write((f"GET /ari/events?app={urllib.parse.quote(self.app)} HTTP/1.1\r\n"
                 f"Host: {self.ari_host}:{self.ari_port}\r\nUpgrade: websocket\r\n"
                 f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                 f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ari\r\n"
                 f"Authorization: Basic {self.auth}\r\n\r\n").encode())
        status = await r.readline()
        if b" 101 " not in status:
            raise ConnectionError(f"ARI WebSocket refused: {status!r}")
        while (await r.readline()) not in (b"\r\n", b""):
            pass
        log("ready: ARI events connected", flush=True)
        message = b""
        while True:
            h = await r.readexactly(2)
            op, n = h[0] & 0x0F, h[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", await r.readexactly(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await r.readexactly(8))[0]
            mask = await r.readexactly(4) if h[1] & 0x80 else None
            data = await r.readexactly(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if op == 9:  # ping: answer with a masked pong
                m = os.urandom(4)
                w.write(bytes([0x8A, 0x80 | len(data)]) + m
                        + bytes(b ^ m[i % 4] for i, b in enumerate(data)))
            elif op == 8:
                raise ConnectionError("ARI WebSocket closed")
            elif op in (0, 1):
                message += data
                if h[0] & 0x80:
                    try:
                        self.on_event(json.loads(message))
                    except Exception as e:  # one bad event must not stop the loop
                        log(f"event failed: {e!r}")
                    message = b""

    def on_event(self, ev):
        kind = ev.get("type")
        ch = ev.get("channel") or {}
        cid = ch.get("id", "")
        if kind == "StasisStart":
            args = ev.get("args") or []
            if args and args[0] == AGENT_ARG:
                call = self.calls.get(args[1] if len(args) > 1 else "")
                if call is None or call.ended:
                    self.spawn(self.rest_call("DELETE", f"/channels/{cid}"))
                    return
                call.agent_name = ch.get("name", "")
                self.spawn(self.rest_call(
                    "POST", f"/channels/{cid}/dial?caller={call.genesys}&timeout=30"))
                return
            dn = args[0] if args else ""
            call_id = args[1] if len(args) > 1 else ch.get("protocol_id", "")
            uuid = args[2] if len(args) > 2 else ""
            n = next(self.ids)
            call = Call(cid, dn, call_id, uuid, f"ref-{self.tag}-a{n}", f"ref-{self.tag}-b{n}")
            self.calls[cid] = call
            self.calls[call.agent] = call
            self.by_call_id[call_id] = call
            self.spawn(self.create_agent(call))
        elif kind == "ChannelStateChange":
            call = self.calls.get(cid)
            if call is None or call.ended or cid != call.agent:
                return
            state = ch.get("state")
            if state == "Ringing" and not call.ringing:
                call.ringing = True
                self.spawn(self.rest_call("POST", f"/channels/{call.genesys}/ring"))
                if call.talk_pending:
                    self.answer(call)
            elif state == "Up" and not call.bridged:
                call.bridged = True
                self.spawn(self.bridge(call))
        elif kind in ("StasisEnd", "ChannelDestroyed"):
            call = self.calls.get(cid)
            if call is None or call.ended:
                return
            call.ended = True
            other = call.agent if cid == call.genesys else call.genesys
            self.spawn(self.rest_call("DELETE", f"/channels/{other}"))
            if call.bridged:
                self.spawn(self.rest_call("DELETE", f"/bridges/{call.bridge}"))
            for k in (call.genesys, call.agent):
                self.calls.pop(k, None)
            self.by_call_id.pop(call.call_id, None)

    async def create_agent(self, call):
        q = urllib.parse.urlencode({
            "endpoint": f"PJSIP/{call.dn}", "app": self.app, "appArgs": f"{AGENT_ARG},{call.key}",
            "channelId": call.agent, "originator": call.genesys})
        body = b""
        if call.uuid:
            body = json.dumps({"variables": {"PJSIP_HEADER(add,X-Genesys-CallUUID)": call.uuid}}).encode()
        status, _ = await self.rest_call("POST", f"/channels/create?{q}", body)
        if status >= 300:
            await self.rest_call("DELETE", f"/channels/{call.genesys}")

    async def bridge(self, call):
        status, _ = await self.rest_call("POST", f"/channels/{call.genesys}/answer")
        if status >= 300:
            return
        status, _ = await self.rest_call("POST", f"/bridges?type=mixing&bridgeId={call.bridge}")
        if status >= 300:
            return
        await self.rest_call(
            "POST", f"/bridges/{call.bridge}/addChannel?channel={call.genesys},{call.agent}")

    # --- HEP: Genesys's NOTIFY talk -----------------------------------------------------

    def on_hep(self, data):
        if data[:4] != b"HEP3":
            return
        end, i, src, sip = min(len(data), struct.unpack(">H", data[4:6])[0]), 6, None, None
        while i + 6 <= end:
            _, ctype, clen = struct.unpack(">HHH", data[i:i + 6])
            if clen < 6:
                return
            if ctype == 3:
                src = ".".join(str(b) for b in data[i + 6:i + 10])
            elif ctype == 15:
                sip = data[i + 6:i + clen]
            i += clen
        if src != self.genesys_ip or not sip or not sip.startswith(b"NOTIFY "):
            return
        call_id = event = None
        for line in sip.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name in (b"call-id", b"i"):
                call_id = value.strip().decode("latin-1")
            elif name in (b"event", b"o"):
                event = value.split(b";")[0].strip().lower()
        call = self.by_call_id.get(call_id)
        if event != b"talk" or call is None or call.ended:
            return
        if call.ringing:
            self.answer(call)
        else:
            call.talk_pending = True

    def answer(self, call):
        if call.talk_sent or self.ami_w is None:
            return
        call.talk_sent = True
        self.ami_w.write((f"Action: PJSIPNotify\r\nActionID: {next(self.ids)}\r\n"
                          f"Channel: {call.agent_name}\r\nVariable: Event=talk\r\n\r\n").encode())

    # --- AMI ----------------------------------------------------------------------------

    async def ami(self):
        r, w = await asyncio.open_connection(self.env["ASTERISK_HOST"], int(self.env["ASTERISK_AMI_PORT"]))
        await r.readline()  # banner
        w.write((f"Action: Login\r\nUsername: {self.env['ASTERISK_AMI_USER']}\r\n"
                 f"Secret: {self.env['ASTERISK_AMI_SECRET']}\r\nEvents: off\r\n\r\n").encode())
        self.ami_w = w
        block = []
        while True:  # drain responses; report the failed ones
            line = await r.readline()
            if not line:
                raise ConnectionError("AMI closed")
            if line in (b"\r\n", b"\n"):
                if block and block[0].startswith(b"Response: Error"):
                    log(f"AMI error: {b' '.join(block)!r}")
                block = []
            else:
                block.append(line.strip())

    async def main(self):
        loop = asyncio.get_running_loop()
        hep_host, hep_port = host_port(self.env["HEP_LISTEN"], 9060)
        controller = self

        class Hep(asyncio.DatagramProtocol):
            def datagram_received(self, data, addr):
                try:
                    controller.on_hep(data)
                except Exception as e:  # a bad datagram must not stop the loop
                    log(f"HEP datagram failed: {e!r}")

        # As talkgate's HEP listener: 4 MB, or a scheduling stall loses NOTIFY copies.
        hep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        hep.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        hep.bind((hep_host, hep_port))
        await loop.create_datagram_endpoint(Hep, sock=hep)
        ami = loop.create_task(self.ami())
        await asyncio.sleep(0.2)
        await asyncio.gather(self.ari_events(), ami)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: controller.py CONFIG_ENV_FILE")
    try:
        asyncio.run(Controller(load_env(sys.argv[1])).main())
    except KeyboardInterrupt:
        pass
