"""The collector's resident memory after large OTLP/JSON bodies: does it give the memory back?

    python benchmarks/collector/bench_memory.py [--bodies 4] [--spans 15000]

A collector runs in its own process. A client sends ``--bodies`` OTLP/JSON bodies of ``--spans`` spans each
(2 KB of captured content a span: ~32 MB a body), first all at once, then one at a time, and reads the
collector's RSS (``/proc/<pid>/status``) once it has indexed them and idled a few seconds. Linux only.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request


def rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    raise RuntimeError("no VmRSS")


def body(i: int, spans: int) -> bytes:
    one = {"traceId": f"{i + 1:032x}", "name": "chat m", "startTimeUnixNano": str(1_800_000_000 * 10**9),
           "endTimeUnixNano": str(1_800_000_000 * 10**9 + 10**8),
           "attributes": [{"key": "gen_ai.input.messages", "value": {"stringValue": "x" * 2000}}]}
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        dict(one, spanId=f"{k + 1:016x}") for k in range(spans)]}]}]}).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=4)
    parser.add_argument("--spans", type=int, default=15000)
    parser.add_argument("--settle", type=float, default=6.0, help="seconds to wait before reading the RSS")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        port = 40000 + os.getpid() % 20000
        proc = subprocess.Popen([sys.executable, "-m", "llmobs", "collector", "--data-dir", data, "--port", str(port),
                                 "--grpc-port", "-1"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            proc.stdout.readline()  # type: ignore[union-attr]
            url = f"http://127.0.0.1:{port}/v1/traces"
            statuses: list[int] = []

            def post(payload: bytes) -> None:
                request = urllib.request.Request(url, data=payload, method="POST",
                                                 headers={"Content-Type": "application/json"})
                for _ in range(100):  # a 503 asks to retry
                    try:
                        with urllib.request.urlopen(request, timeout=120) as response:
                            statuses.append(response.status)
                            return
                    except urllib.error.HTTPError as exc:
                        if exc.code != 503:
                            raise
                        time.sleep(float(exc.headers.get("Retry-After", "1")))

            payloads = [body(i, args.spans) for i in range(args.bodies)]
            print(f"collector at start: {rss_mb(proc.pid)} MB; {args.bodies} bodies of "
                  f"{len(payloads[0]) / 2**20:.0f} MB")
            threads = [threading.Thread(target=post, args=(p,)) for p in payloads]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(args.settle)
            print(f"after {args.bodies} at once, indexed and idle: {rss_mb(proc.pid)} MB")
            for p in payloads:
                post(p)
            time.sleep(args.settle)
            print(f"after {args.bodies} more, one at a time: {rss_mb(proc.pid)} MB ({len(statuses)} acknowledged)")
        finally:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
