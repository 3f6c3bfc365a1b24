"""Load generators for bench_http.py: wrk with a Lua script, or a small Python fallback.

Both send each pre-signed request once (a wrk thread or a Python connection starts its share over
only when it runs out, and says so), keep ``connections`` requests in flight for ``duration``
seconds against one URL on 127.0.0.1, and report the same figures. wrk is the one to trust: it is
written in C and uses a fraction of a core. The fallback shares the machine's two cores with the
server under test far less politely (one Python process, threads under the GIL), so its absolute
rates are lower; use it only where wrk is missing (``apt-get install wrk``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from alexa_traffic import Signed, headers

LUA = Path(__file__).resolve().parent / "wrk_alexa.lua"


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    status_errors: int  # answers of 400 or more
    socket_errors: int
    p50_ms: float
    p99_ms: float
    wrapped: int  # times a share of the pool ran out and started over

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def write_pool(path: Path, signed: Sequence[Signed]) -> Path:
    with path.open("wb") as out:
        for item in signed:
            out.write(item.signature.encode() + b"\t" + item.body + b"\n")
    return path


def run_wrk(url: str, pool: Path, cert_url: str, *, connections: int, duration: float) -> Result:
    # One wrk thread at every level: same client cost everywhere, and it leaves the cores to the
    # server (one thread drives tens of thousands of requests a second).
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(LUA),
        url,
        "--",
        str(pool),
        cert_url,
        "1",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line[len("BENCH_JSON ") :])
    return Result(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        status_errors=data["status_errors"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        wrapped=data["wrapped"],
    )


def _raw_request(host: str, path: str, signed: Signed, cert_url: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(signed.body)}"]
    lines += [f"{k}: {v}" for k, v in headers(signed, cert_url).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + signed.body


class _Connection:
    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address
        self._sock: socket.socket | None = None

    def exchange(self, request: bytes) -> int:
        """Send one request and read its whole answer; returns the status code."""
        if self._sock is None:
            self._sock = socket.create_connection(self._address, timeout=10)
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self._sock
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the headers")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
        length = int(fields.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed inside the body")
            body += chunk
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def run_python(
    url: str, signed: Sequence[Signed], cert_url: str, *, connections: int, duration: float
) -> Result:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or 80)
    shares = [
        [_raw_request(parts.netloc, parts.path, s, cert_url) for s in signed[i::connections]]
        for i in range(connections)
    ]
    latencies: list[float] = []
    counts = {"status": 0, "socket": 0, "wrapped": 0}
    lock = threading.Lock()
    stop_at = time.perf_counter() + duration

    def worker(share: list[bytes]) -> None:
        connection, mine, index = _Connection(address), [], 0
        status_errors = socket_errors = wrapped = 0
        while time.perf_counter() < stop_at and share:
            if index == len(share):
                index, wrapped = 0, wrapped + 1
            started = time.perf_counter()
            try:
                status = connection.exchange(share[index])
            except OSError:
                socket_errors += 1
                connection.close()
                continue
            finally:
                index += 1
            mine.append(time.perf_counter() - started)
            status_errors += status >= 400
        connection.close()
        with lock:
            latencies.extend(mine)
            counts["status"] += status_errors
            counts["socket"] += socket_errors
            counts["wrapped"] += wrapped

    started = time.perf_counter()
    workers = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0

    return Result(
        requests=len(latencies),
        seconds=elapsed,
        status_errors=counts["status"],
        socket_errors=counts["socket"],
        p50_ms=percentile(0.50),
        p99_ms=percentile(0.99),
        wrapped=counts["wrapped"],
    )
