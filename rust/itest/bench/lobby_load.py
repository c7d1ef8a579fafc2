"""A load client for the addon's lobby server (addons/webrtc_rs/lobby/PROTOCOL.md):

    python lobby_load.py --url ws://127.0.0.1:PORT [--pairs 1000] [--concurrency 200]
        [--addresses 200] [--server-pid PID] [--no-abusers] [--no-burst] [--no-hold] ...

Used by the benchmark's `lobby` section (bench.gd) and by test_lobby.gd. Needs `websockets`
(the pinned venv of .ci/install_aiortc.sh). Everything stays on loopback: the server is on
127.0.0.1 and the client binds its sockets to addresses of 127.0.0.0/8 (Linux answers on
all of them on `lo`).

Phases, in this order:

1. Newcomer: one client connects and joins an idle server (its join time), then a burst of
   `--burst` raw TCP connections is opened at once (non-blocking connects issued in one go)
   and held without a WebSocket handshake; around `--burst-delay` seconds later newcomers
   join (`--newcomers`, every `--newcomer-spacing` s, from 50 ms before: see
   burst_then_newcomer), and the slowest join counts. Then the burst is closed.
2. Pairs, with the abusers alongside: `--pairs` pairs, `--concurrency` of them in flight at
   a time, each pair from one of `--addresses` source addresses (127.0.0.10 and up; the
   server limits connections and lobbies per address). A pair: the host connects and joins
   a lobby with a random hex name (id 1), the guest connects and joins it (id 2), both hear
   `peer_connected` for the other; the guest (higher id) relays an offer with a ~4 KiB SDP,
   the host an answer of the same size, then each relays `--candidates` candidates. Join
   time: from the start of the connect to `joined`. Relay latency: from just before the
   send to the arrival at the other member (one process, one clock). Any failure (a connect
   refused or timed out, a close, an `error`, a missing message within `--timeout`) is
   counted by reason. Pairs stay connected until every pair is done (unless --no-hold), so
   the server holds 2 x pairs connections at the end; with --server-pid its RSS then is
   compared with before the phase.
   The abusers (each from an address of its own, 127.0.1.x), checked against what
   server.gd does: garbage text (an `error` for each, then a close 1008 "more than N
   malformed messages"), a binary frame (`error`), a 100 KiB message (closed: over
   max_message_bytes), a flood of 400 relayed messages at once (close 1008 "messages per
   second", its partner hears `peer_disconnected`), a 100 000-character lobby name (closed:
   the message is over max_message_bytes), a 10 000-character one (`error`: "longer than
   64"), `seal` before `join` (`error`), half-open TCP connections that never handshake
   (dropped within the handshake timeout).
3. The server is still alive: a new client joins a new lobby.

Prints one JSON object on stdout; progress goes to stderr. Its main figures: "join_ms" and
"relay_ms" (n, p50, p90, p99, max) over the successful pairs; "joins_per_s" and "pairs_per_s",
their joins and pairs over the time from the phase's start to the end of the last successful
pair (a pair failing by a timeout would stretch the phase to the timeout); "failures" by
reason; "abusers" ("ok" for each); "newcomer"; "server" (with --server-pid). What the client itself costs is
reported under "client": its CPU time over the pairs phase (with --processes, the sum over
the processes, so it may exceed 100 % of a core) and its event loops' lag (a 10 ms
sleep's overshoot), which bounds how much of a latency is the client's rather than the
server's.
"""

import argparse
import asyncio
import gc
import json
import os
import resource
import secrets
import socket
import sys
import time

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def log(message: str) -> None:
    print(f"[lobby_load] {message}", file=sys.stderr, flush=True)


def now() -> float:
    return time.perf_counter()


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)

    return {"n": len(ordered), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
            "max": round(ordered[-1], 3)}


# A plausible offer: ~4 KiB of SDP lines (the server only relays it).
def make_sdp(size: int = 4096) -> str:
    lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
             "a=group:BUNDLE 0", "a=extmap-allow-mixed", "a=msid-semantic: WMS",
             "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "c=IN IP4 0.0.0.0",
             "a=ice-ufrag:" + secrets.token_hex(2), "a=ice-pwd:" + secrets.token_hex(12),
             "a=ice-options:trickle", "a=setup:actpass", "a=mid:0", "a=sctp-port:5000",
             "a=max-message-size:262144"]
    while sum(len(line) + 2 for line in lines) < size - 110:
        lines.append("a=fingerprint:sha-256 " + ":".join(secrets.token_hex(1).upper() for _ in range(32)))
    text = "\r\n".join(lines) + "\r\n"
    return text + "a=x-pad:" + "p" * max(0, size - len(text) - 10) + "\r\n"


class Failure(Exception):
    """A pair or abuser step that went wrong; `reason` is the counted category."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class Conn:
    """A WebSocket with a reader task that timestamps every message as it arrives."""

    def __init__(self, ws):
        self.ws = ws
        self.queue: asyncio.Queue = asyncio.Queue()
        self.closed = None  # (code, reason) once the connection closed
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                arrived = now()
                if isinstance(data, bytes):
                    self.queue.put_nowait((arrived, {"type": "<binary>"}))
                    continue
                try:
                    message = json.loads(data)
                except ValueError:
                    message = {"type": "<unparsed>", "text": data[:80]}
                if not isinstance(message, dict):
                    message = {"type": "<not an object>"}
                self.queue.put_nowait((arrived, message))
        except ConnectionClosed:
            pass
        except Exception as error:  # noqa: BLE001 - reported as a close
            self.closed = (None, f"{type(error).__name__}: {error}")
        finally:
            if self.closed is None:
                rcvd = self.ws.protocol.close_rcvd  # None: no close frame came
                self.closed = (rcvd.code if rcvd else None, rcvd.reason if rcvd else "no close frame")
            self.queue.put_nowait((now(), {"type": "<closed>"}))

    async def next(self, what: str, timeout: float) -> tuple[float, dict]:
        """The next message; a Failure on a close or after `timeout` seconds."""
        try:
            arrived, message = await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            raise Failure("timeout", f"no {what} within {timeout:g} s") from None
        if message.get("type") == "<closed>":
            self.queue.put_nowait((arrived, message))  # later reads see it too
            raise Failure(f"closed {self.closed[0]}", f"waiting for {what}: {self.closed[1]}")
        return arrived, message

    async def expect(self, kind: str, timeout: float) -> tuple[float, dict]:
        arrived, message = await self.next(kind, timeout)
        if message.get("type") == "error":
            raise Failure("error", str(message.get("message"))[:80])
        if message.get("type") != kind:
            raise Failure("unexpected message", f"{message.get('type')} instead of {kind}")
        return arrived, message

    async def send(self, message: dict) -> float:
        sent = now()
        await self.ws.send(json.dumps(message))
        return sent

    async def close(self) -> None:
        try:
            await self.ws.close()
        except Exception:  # noqa: BLE001 - closing anyway
            pass
        self.reader.cancel()


class Load:
    def __init__(self, args):
        self.args = args
        self.sdp = make_sdp(args.sdp_bytes)
        self.join_ms: list[float] = []
        self.relay_ms: list[float] = []
        self.failures: dict[str, int] = {}
        self.examples: list[str] = []
        self.pairs_ok = 0
        self.pairs_done = 0
        self.last_ok = 0.0  # when the last successful pair finished
        self.last_ok_epoch = 0.0
        self.held: list[Conn] = []
        self.held_elsewhere = 0  # held by worker processes

    async def open(self, address: str, timeout: float) -> Conn:
        try:
            ws = await connect(self.args.url, local_addr=(address, 0), compression=None,
                               open_timeout=timeout, ping_interval=None, close_timeout=2,
                               max_size=1 << 20)
        except TimeoutError:
            raise Failure("connect timeout", f"from {address}") from None
        except ConnectionRefusedError:
            raise Failure("connect refused", f"from {address}") from None
        except InvalidHandshake as error:
            raise Failure("handshake failed", f"{type(error).__name__}: {error}") from None
        except OSError as error:
            raise Failure(f"connect {type(error).__name__}", str(error)) from None
        return Conn(ws)

    async def join(self, address: str, lobby: str) -> tuple[Conn, dict, float]:
        started = now()
        conn = await self.open(address, self.args.timeout)
        try:
            await conn.send({"type": "join", "v": 1, "lobby": lobby, "mode": "mesh"})
            arrived, joined = await conn.expect("joined", self.args.timeout)
        except BaseException:
            await conn.close()
            raise
        return conn, joined, (arrived - started) * 1000.0

    async def pair(self, index: int, gate: asyncio.Semaphore) -> None:
        address = f"127.0.0.{10 + index % self.args.addresses}"
        lobby = secrets.token_hex(8)
        conns: list[Conn] = []
        ok = False
        async with gate:
            try:
                host, joined, host_ms = await self.join(address, lobby)
                conns.append(host)
                if joined.get("id") != 1:
                    raise Failure("wrong id", f"host got {joined.get('id')}")
                guest, joined, guest_ms = await self.join(address, lobby)
                conns.append(guest)
                if joined.get("id") != 2:
                    raise Failure("wrong id", f"guest got {joined.get('id')}")
                t = self.args.timeout
                await host.expect("peer_connected", t)
                await guest.expect("peer_connected", t)
                latencies = []
                # The higher id makes the offer (PROTOCOL.md).
                sent = await guest.send({"type": "offer", "to": 1, "sdp": self.sdp})
                arrived, offer = await host.expect("offer", t)
                if offer.get("from") != 2 or offer.get("sdp") != self.sdp:
                    raise Failure("relay garbled", "offer")
                latencies.append(arrived - sent)
                sent = await host.send({"type": "answer", "to": 2, "sdp": self.sdp})
                arrived, answer = await guest.expect("answer", t)
                if answer.get("from") != 1:
                    raise Failure("relay garbled", "answer")
                latencies.append(arrived - sent)
                sends: dict[tuple[int, int], float] = {}
                for side, (conn, to) in enumerate(((host, 2), (guest, 1))):
                    for i in range(self.args.candidates):
                        sends[(side, i)] = await conn.send({
                            "type": "candidate", "to": to, "mid": "0", "index": 0, "seq": i,
                            "candidate": f"candidate:{i} 1 udp 2122260223 127.0.0.1 {50000 + i} typ host"})
                for side, conn in ((1, host), (0, guest)):  # each receives the other's
                    for _ in range(self.args.candidates):
                        arrived, candidate = await conn.expect("candidate", t)
                        latencies.append(arrived - sends[(side, int(candidate.get("seq", -1)))])
                self.join_ms += [host_ms, guest_ms]
                self.relay_ms += [x * 1000.0 for x in latencies]
                self.pairs_ok += 1
                self.last_ok = now()
                self.last_ok_epoch = time.time()
                ok = True
            except Failure as failure:
                self.fail(failure.reason, f"pair {index}: {failure}")
            except Exception as error:  # noqa: BLE001 - counted, the run goes on
                self.fail(f"client {type(error).__name__}", f"pair {index}: {error}")
            finally:
                self.pairs_done += 1
        if self.args.hold and ok:
            self.held += conns
        else:
            for conn in conns:
                await conn.close()

    def fail(self, reason: str, detail: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1
        if len(self.examples) < 10:
            self.examples.append(detail[:200])


# ---------------------------------------------------------------------------------------
# Abusers: each returns {"ok": bool, ...}; "ok" means the server did what server.gd does.

async def read_until_closed(conn: Conn, timeout: float) -> list[dict]:
    """Every message until the server closes `conn` (a Failure after `timeout`)."""
    messages = []
    deadline = now() + timeout
    while True:
        try:
            _, message = await conn.next("the close", max(0.01, deadline - now()))
        except Failure as failure:
            if failure.reason.startswith("closed"):
                return messages
            raise
        messages.append(message)


async def abuse_garbage(load: Load, address: str) -> dict:
    conn = await load.open(address, 10)
    texts = ["\u00ff", "{", "[]", "17", '{"type": null}', '{"type": "offer", "to": -1, "sdp": ""}',
             '{"type": "nope"}', '{"type": "candidate", "to": 1}', '{"type": "join", "v": 99}',
             '{"type": "join", "mode": "ring"}']
    errors = 0
    try:
        for text in texts[:load.args.max_errors]:
            await conn.ws.send(text)
            _, reply = await conn.next("an error for garbage", 10)
            errors += reply.get("type") == "error"
        await conn.ws.send(texts[load.args.max_errors % len(texts)])
        await read_until_closed(conn, 10)
    finally:
        await conn.close()
    code, reason = conn.closed
    return {"ok": errors == load.args.max_errors and code == 1008 and "malformed" in reason,
            "errors": errors, "close_code": code, "close_reason": reason}


async def abuse_binary(load: Load, address: str) -> dict:
    conn = await load.open(address, 10)
    try:
        await conn.ws.send(b"\x00\x01\x02\xff" * 16)
        _, reply = await conn.next("an error for a binary frame", 10)
        # Still open and served: a join works.
        await conn.send({"type": "join", "v": 1, "lobby": secrets.token_hex(8)})
        _, joined = await conn.next("joined after the binary frame", 10)
    finally:
        await conn.close()
    return {"ok": reply.get("type") == "error" and "binary" in str(reply.get("message"))
            and joined.get("type") == "joined",
            "reply": str(reply.get("message"))[:80], "then": joined.get("type")}


async def abuse_oversized(load: Load, address: str, message: str) -> dict:
    conn = await load.open(address, 10)
    try:
        await conn.ws.send(message)
        got = await read_until_closed(conn, 10)
    finally:
        await conn.close()
    code, reason = conn.closed
    # The listener refuses it (close 1009, "message too big"); a 1008 kick is accepted too, for
    # a server that takes it whole and then refuses it by size.
    return {"ok": code in (1009, 1008) and not any(m.get("type") == "joined" for m in got),
            "bytes": len(message.encode()), "close_code": code, "close_reason": reason[:80],
            "messages_before_close": [m.get("type") for m in got][:4]}


async def abuse_refused(load: Load, address: str, message: dict, what: str, expected: str) -> dict:
    """Sends `message`, which the server must answer with an `error` containing `expected`."""
    conn = await load.open(address, 10)
    try:
        await conn.send(message)
        _, reply = await conn.next(f"an error for {what}", 10)
    finally:
        await conn.close()
    return {"ok": reply.get("type") == "error" and expected in str(reply.get("message")),
            "reply": str(reply.get("message"))[:80]}


async def abuse_flood(load: Load, address: str) -> dict:
    lobby = "flood-" + secrets.token_hex(6)
    flooder = await load.open(address, 10)
    partner = await load.open(address, 10)
    try:
        await flooder.send({"type": "join", "v": 1, "lobby": lobby})
        await flooder.expect("joined", 10)
        await partner.send({"type": "join", "v": 1, "lobby": lobby})
        await partner.expect("joined", 10)
        await flooder.expect("peer_connected", 10)
        await partner.expect("peer_connected", 10)
        count = 400
        for i in range(count):
            try:
                await flooder.ws.send(json.dumps({"type": "candidate", "to": 2, "mid": "0", "index": 0,
                                                  "candidate": f"c{i}"}))
            except ConnectionClosed:
                break
        await read_until_closed(flooder, 10)
        relayed, told = 0, False
        while not told:
            _, message = await partner.next("peer_disconnected for the flooder", 10)
            relayed += message.get("type") == "candidate"
            told = message == {"type": "peer_disconnected", "id": 1}
    finally:
        await flooder.close()
        await partner.close()
    code, reason = flooder.closed
    return {"ok": code == 1008 and "messages per second" in reason and told and 50 <= relayed < count,
            "close_code": code, "close_reason": reason[:80], "relayed_before_kick": relayed,
            "partner_told": told}


async def abuse_half_open(load: Load, address: str) -> dict:
    """Raw TCP connections that never finish (one sends half a request) are dropped."""
    count = 10
    dropped_after = []
    writers = []
    try:
        opened = []
        for i in range(count):
            reader, writer = await asyncio.wait_for(asyncio.open_connection(
                "127.0.0.1", load.port, local_addr=(address, 0)), 15)
            writers.append(writer)
            opened.append((now(), reader))
        writers[0].write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        limit = load.args.handshake_timeout + 5.0

        async def dropped(started: float, reader) -> float | None:
            try:
                while await asyncio.wait_for(reader.read(4096), max(0.01, started + limit - now())):
                    pass
            except asyncio.TimeoutError:
                return None
            except (ConnectionResetError, BrokenPipeError):
                pass
            return now() - started

        dropped_after = await asyncio.gather(*(dropped(s, r) for s, r in opened))
    finally:
        for writer in writers:
            writer.close()
    held = [d for d in dropped_after if d is None]
    times = [d for d in dropped_after if d is not None]
    return {"ok": len(dropped_after) == count and not held, "count": count, "not_dropped": len(held),
            "dropped_after_s_max": round(max(times), 2) if times else None}


async def run_abusers(load: Load) -> dict:
    big = json.dumps({"type": "join", "v": 1, "lobby": "x", "pad": "x" * (100 * 1024)})
    huge_name = json.dumps({"type": "join", "v": 1, "lobby": "n" * 100000})
    cases = {
        "garbage_text": lambda a: abuse_garbage(load, a),
        "binary_frame": lambda a: abuse_binary(load, a),
        "oversized_100KiB": lambda a: abuse_oversized(load, a, big),
        "lobby_name_100000_chars": lambda a: abuse_oversized(load, a, huge_name),
        "lobby_name_10000_chars": lambda a: abuse_refused(
            load, a, {"type": "join", "v": 1, "lobby": "n" * 10000}, "a 10 000-character name", "longer than 64"),
        "seal_before_join": lambda a: abuse_refused(load, a, {"type": "seal"}, "seal before join", "host"),
        "flood_400_messages": lambda a: abuse_flood(load, a),
        "half_open_tcp": lambda a: abuse_half_open(load, a),
    }

    async def one(index: int, name: str, case) -> tuple[str, dict]:
        try:
            result = await case(f"127.0.1.{index + 1}")
        except Failure as failure:
            result = {"ok": False, "failure": str(failure)[:200]}
        except Exception as error:  # noqa: BLE001 - reported
            result = {"ok": False, "failure": f"{type(error).__name__}: {error}"[:200]}
        log(f"abuser {name}: {'handled' if result['ok'] else 'NOT HANDLED'} {json.dumps(result)}")
        return name, result

    return dict(await asyncio.gather(*(one(i, n, c) for i, (n, c) in enumerate(cases.items()))))


# ---------------------------------------------------------------------------------------

async def newcomer_join_ms(load: Load, address: str) -> float | None:
    try:
        conn, _, ms = await load.join(address, secrets.token_hex(8))
    except Failure as failure:
        log(f"newcomer from {address} failed: {failure}")
        return None
    await conn.close()
    return round(ms, 1)


async def burst_then_newcomer(load: Load) -> dict:
    """`--burst` TCP connections opened at once and held without a handshake, then newcomers.

    Linux drops a SYN that meets a full accept queue and the client sends it again 1 s later,
    so whether one newcomer meets the burst's retransmitted SYNs (about 1 s after the burst)
    is a matter of milliseconds (the queue is full from the wave's arrival until the server's
    next accept): `--newcomers` of them start `--newcomer-spacing` apart from 50 ms before
    `--burst-delay` on (by default 100, 2 ms apart: 0.95 s to 1.148 s), and the slowest counts.
    """
    idle_ms = await newcomer_join_ms(load, "127.0.3.1")
    sockets = []
    started = now()
    for _ in range(load.args.burst):  # non-blocking: every SYN leaves within this loop
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.bind(("127.0.2.1", 0))
        sock.connect_ex(("127.0.0.1", load.port))
        sockets.append(sock)
    issued_ms = (now() - started) * 1000.0
    count, spacing = load.args.newcomers, load.args.newcomer_spacing
    first = max(0.0, load.args.burst_delay - 0.05)

    async def newcomer(i: int) -> float | None:
        # The scenario's timing (not a synchronisation): newcomer i starts at its moment.
        await asyncio.sleep(max(0.0, started + first + i * spacing - now()))
        return await newcomer_join_ms(load, f"127.0.3.{10 + i}")

    joins = await asyncio.gather(*(newcomer(i) for i in range(count)))
    for sock in sockets:
        sock.close()
    done = [ms for ms in joins if ms is not None]
    return {"idle_join_ms": idle_ms,
            "after_burst_join_ms": max(done) if len(done) == count else None,
            "after_burst_join_ms_p50": percentiles(done).get("p50"),
            "after_burst_failed": count - len(done),
            "after_burst_over_100ms": sum(ms > 100.0 for ms in done),
            "after_burst_each_ms": joins,
            "burst": load.args.burst, "burst_issued_in_ms": round(issued_ms, 1),
            "newcomers_from_s": round(first, 3), "newcomers_every_s": spacing}


class ServerProc:
    """What /proc says of the server process (with --server-pid)."""

    def __init__(self, pid: int | None):
        self.pid = pid

    def rss_kib(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except (OSError, TypeError):
            return None
        return None

    def cpu_s(self) -> float | None:
        try:
            with open(f"/proc/{self.pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        except (OSError, TypeError, IndexError):
            return None


async def loop_lag(samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        before = now()
        await asyncio.sleep(0.01)
        samples.append((now() - before - 0.01) * 1000.0)


async def progress(load: Load, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 2.0)
        except asyncio.TimeoutError:
            log(f"{load.pairs_done}/{load.args.pairs} pairs done, {load.pairs_done - load.pairs_ok} failed")


# With --processes P, the pairs run in P worker processes (this script with --worker K: pairs
# K, K+P, ...; the concurrency split among them) and this one merges their figures; the
# newcomers and the abusers stay here. A worker prints its figures as one JSON line once its
# pairs are done, holds its connections until a line arrives on its stdin, then exits.

def worker_argv(args, k: int) -> list[str]:
    argv = [sys.executable, os.path.abspath(__file__), "--url", args.url, "--pairs", str(args.pairs),
            "--concurrency", str(args.concurrency), "--addresses", str(args.addresses),
            "--candidates", str(args.candidates), "--sdp-bytes", str(args.sdp_bytes),
            "--timeout", str(args.timeout), "--processes", str(args.processes), "--worker", str(k)]
    return argv + ([] if args.hold else ["--no-hold"])


async def start_workers(load: Load, lags: list[float]):
    args = load.args
    workers = [await asyncio.create_subprocess_exec(*worker_argv(args, k), stdin=asyncio.subprocess.PIPE,
                                                    stdout=asyncio.subprocess.PIPE, limit=1 << 26)
               for k in range(args.processes)]
    lines = await asyncio.gather(*(w.stdout.readline() for w in workers))
    cpu, ok_epoch, started_epoch = 0.0, 0.0, float("inf")
    for k, line in enumerate(lines):
        try:
            figures = json.loads(line)
        except ValueError:
            load.fail("worker died", f"worker {k} printed {line[:200]!r}")
            continue
        load.join_ms += figures["join_ms"]
        load.relay_ms += figures["relay_ms"]
        load.pairs_ok += figures["pairs_ok"]
        load.held_elsewhere += figures["held"]
        for reason, count in figures["failures"].items():
            load.failures[reason] = load.failures.get(reason, 0) + count
        load.examples += figures["examples"][:max(0, 10 - len(load.examples))]
        lags += figures["loop_lag_ms"]
        cpu += figures["cpu_s"]
        ok_epoch = max(ok_epoch, figures["last_ok_epoch"])
        started_epoch = min(started_epoch, figures["started_epoch"])
    return workers, cpu, ok_epoch, started_epoch


async def stop_worker(worker) -> None:
    try:
        worker.stdin.write(b"close\n")
        await worker.stdin.drain()
        worker.stdin.close()
    except (BrokenPipeError, ConnectionResetError):
        pass
    await worker.wait()


async def worker_main(args) -> None:
    load = Load(args)
    stop = asyncio.Event()
    lags: list[float] = []
    lag_task = asyncio.create_task(loop_lag(lags, stop))
    gate = asyncio.Semaphore(max(1, args.concurrency // args.processes))
    cpu, started_epoch = time.process_time(), time.time()
    await asyncio.gather(*(load.pair(i, gate) for i in range(args.worker, args.pairs, args.processes)))
    cpu = time.process_time() - cpu
    stop.set()
    await lag_task
    print(json.dumps({"join_ms": load.join_ms, "relay_ms": load.relay_ms, "pairs_ok": load.pairs_ok,
                      "failures": load.failures, "examples": load.examples, "held": len(load.held),
                      "loop_lag_ms": lags, "cpu_s": cpu, "last_ok_epoch": load.last_ok_epoch,
                      "started_epoch": started_epoch}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.gather(*(conn.close() for conn in load.held))


async def main(args) -> dict:
    load = Load(args)
    load.port = int(args.url.rsplit(":", 1)[1].split("/")[0])
    server = ServerProc(args.server_pid)
    out: dict = {"pairs": args.pairs, "concurrency": args.concurrency, "addresses": args.addresses,
                 "hold": args.hold, "sdp_bytes": len(load.sdp), "candidates": args.candidates}
    if args.burst > 0:
        log(f"newcomer: idle, then after {args.burst} half-open connections")
        out["newcomer"] = await burst_then_newcomer(load)
        log(f"newcomer: {json.dumps(out['newcomer'])}")
    rss_before, cpu_before = server.rss_kib(), server.cpu_s()
    stop = asyncio.Event()
    lags: list[float] = []
    watchers = [asyncio.create_task(loop_lag(lags, stop))]
    if args.processes == 1:
        watchers.append(asyncio.create_task(progress(load, stop)))
    abusers = asyncio.create_task(run_abusers(load)) if args.abusers else None
    log(f"{args.pairs} pairs, {args.concurrency} at a time, from {args.addresses} addresses"
        + (f", in {args.processes} processes" if args.processes > 1 else ""))
    client_cpu, started, started_epoch = time.process_time(), now(), time.time()
    workers = []
    if args.processes > 1:
        # The phase starts when the first worker starts its pairs (not with Python's start-up).
        workers, worker_cpu, ok_epoch, first_epoch = await start_workers(load, lags)
        seconds = now() - started - max(0.0, first_epoch - started_epoch)
        ok_seconds = ok_epoch - first_epoch if load.pairs_ok else 0.0
    else:
        gate = asyncio.Semaphore(args.concurrency)
        await asyncio.gather(*(load.pair(i, gate) for i in range(args.pairs)))
        seconds = now() - started
        ok_seconds = load.last_ok - started if load.pairs_ok else 0.0
        worker_cpu = 0.0
    client_cpu = time.process_time() - client_cpu + worker_cpu
    cpu_after, rss_held = server.cpu_s(), server.rss_kib()
    stop.set()
    await asyncio.gather(*watchers)
    out["abusers"] = await abusers if abusers else {}
    out["abusers_handled"] = sum(r["ok"] for r in out["abusers"].values())
    out["abusers_total"] = len(out["abusers"])
    joins = len(load.join_ms)
    out.update({
        "pairs_ok": load.pairs_ok, "pairs_failed": args.pairs - load.pairs_ok,
        "failures": load.failures, "failure_examples": load.examples,
        # Rates over the time to the last successful pair: a pair that fails by a timeout
        # would otherwise stretch the phase to the timeout.
        "seconds": round(seconds, 3), "seconds_to_last_ok_pair": round(ok_seconds, 3),
        "joins": joins, "joins_per_s": round(joins / ok_seconds, 1) if ok_seconds > 0 else 0.0,
        "pairs_per_s": round(load.pairs_ok / ok_seconds, 1) if ok_seconds > 0 else 0.0,
        "join_ms": percentiles(load.join_ms), "relay_ms": percentiles(load.relay_ms),
        "client": {"cpu_s": round(client_cpu, 2), "cpu_percent": round(100.0 * client_cpu / seconds, 1),
                   "loop_lag_ms": percentiles(lags)},
    })
    held = len(load.held) + load.held_elsewhere
    server_out = {"held_connections": held}
    if args.server_pid:
        server_out.update({"cpu_s": round(cpu_after - cpu_before, 2) if cpu_after is not None else None,
                           "cpu_percent": round(100.0 * (cpu_after - cpu_before) / seconds, 1)
                           if cpu_after is not None else None,
                           "rss_kib_before": rss_before, "rss_kib_held": rss_held})
        if held and rss_held and rss_before:
            server_out["rss_kib_per_held_connection"] = round((rss_held - rss_before) / held, 2)
    log(f"closing {held} held connections")
    await asyncio.gather(*(conn.close() for conn in load.held), *(stop_worker(w) for w in workers))
    probe = await newcomer_join_ms(load, "127.0.3.3")
    server_out["alive"] = probe is not None
    server_out["alive_join_ms"] = probe
    if args.server_pid:
        server_out["rss_kib_after_close"] = server.rss_kib()
    out["server"] = server_out
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="ws://127.0.0.1:PORT")
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200, help="pairs in flight at a time")
    parser.add_argument("--addresses", type=int, default=200, help="source addresses 127.0.0.10 and up")
    parser.add_argument("--candidates", type=int, default=3, help="candidates each member relays")
    parser.add_argument("--sdp-bytes", type=int, default=4096)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds for any one step")
    parser.add_argument("--no-hold", dest="hold", action="store_false",
                        help="close each pair when done (default: hold all until the end)")
    parser.add_argument("--no-abusers", dest="abusers", action="store_false")
    parser.add_argument("--burst", type=int, default=150, help="half-open connections before the newcomer (0: skip)")
    parser.add_argument("--burst-delay", type=float, default=1.0,
                        help="seconds from the burst to the newcomers (the first starts 50 ms before)")
    parser.add_argument("--newcomers", type=int, default=100, help="newcomers joining after the burst")
    parser.add_argument("--newcomer-spacing", type=float, default=0.002, help="seconds between newcomers")
    parser.add_argument("--max-errors", type=int, default=8, help="the server's --max-errors")
    parser.add_argument("--handshake-timeout", type=float, default=5.0, help="the server's --handshake-timeout")
    parser.add_argument("--server-pid", type=int, help="read the server's CPU and RSS from /proc")
    parser.add_argument("--processes", type=int, default=1,
                        help="run the pairs in this many worker processes (the client's CPU is the sum)")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.addresses < 1 or args.addresses > 240:
        parser.error("--addresses: 1-240 (127.0.0.10 to 127.0.0.249)")
    return args


if __name__ == "__main__":
    arguments = parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if 2 * arguments.pairs + arguments.burst + 64 > hard:
        log(f"warning: {2 * arguments.pairs} held connections need more than the fd limit {hard}")
    # The cyclic collector's full passes over ~10 000 connections' objects stall the event loop
    # for hundreds of milliseconds, which would show as server latency. A run is short.
    gc.disable()
    if arguments.worker is not None:
        asyncio.run(worker_main(arguments))
    else:
        print(json.dumps(asyncio.run(main(arguments))))
