"""Instructions per POST /alexa, counted by callgrind: a figure that other load on the machine cannot move.

    python bench/count_endpoint.py [--requests 300] [--baseline-rev main] [--backend sqlite|postgresql]
    python bench/count_endpoint.py --tiny      # a few requests: checks the benchmark still works

The app is built as the HTTP benchmark's server (c) builds it (verification on with the test CA,
per-user state, ``--users`` seeded accounts) and the same signed traffic (half LaunchRequest, half
a slot-bearing CausesIntent) goes straight into its WSGI callable, in a process that runs under
``valgrind --tool=callgrind``. Only the measured requests are counted: after ``--warm`` requests
have filled every cache, the loop runs inside a libc ``qsort`` call (through ctypes, comparing two
items, with the loop in the comparator) and callgrind collects inside ``qsort`` only, so start-up,
imports and the warm-up are left out. Every variant answers the very same signed requests (each
gets a fresh app, so the replay guard accepts them again).

``--baseline-rev main`` counts that revision first, in the same run, and the table gives the ratio.
Needs valgrind (``apt-get install valgrind``); ``--callgrind-out DIR`` keeps the profiles for
``callgrind_annotate``.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import alexa_traffic
from common import database, table
from revisions import export_revision

_COLLECTED = re.compile(r"Collected\s*:\s*(\d+)")


def in_qsort(work: Callable[[], None]) -> None:
    """Runs ``work`` inside libc's qsort, which is what callgrind is told to collect in."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    compare_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    done: list[bool] = []
    failure: list[BaseException] = []

    def compare(a: Any, b: Any) -> int:
        if not done:
            done.append(True)
            try:
                work()
            except BaseException as exc:  # raised from a C callback it would only be printed
                failure.append(exc)
        return 0

    items = (ctypes.c_int * 2)(0, 1)
    callback = compare_type(compare)
    libc.qsort(items, 2, ctypes.sizeof(ctypes.c_int), callback)
    if failure:
        raise failure[0]
    if not done:
        raise SystemExit("qsort never called the comparator")


def child(spec: Path) -> None:
    """Under callgrind: build the app, warm it up, then answer the measured requests in qsort."""
    import pki_files
    from profile_endpoint import drive, environs

    from skill import create_app

    job = json.loads(spec.read_text())
    pki = pki_files.load(job["pki"])
    from cryptography import x509

    app = create_app(
        {
            "DATABASE_URL": job["database_url"],
            "ALEXA_SKILL_ID": pki_files.SKILL_ID,
            "VERIFIER_ROOTS": [x509.load_pem_x509_certificate(pki.root_pem)],
            "CERT_FETCH": pki.fetch,
        }
    )
    signed = [alexa_traffic.Signed(body.encode(), signature) for body, signature in job["requests"]]
    warm = environs(signed[: job["warm"]], pki.cert_url)
    batch = environs(signed[job["warm"] :], pki.cert_url)
    drive(app, warm)
    in_qsort(lambda: drive(app, batch))


def count(source: Path | None, spec: Path, out: Path) -> int:
    """Instructions collected in one child run of the project at ``source`` (None: this tree)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    env = dict(os.environ)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    done = subprocess.run(
        [
            valgrind,
            "--tool=callgrind",
            "--collect-atstart=no",
            # glibc's qsort is entered as qsort and __qsort_r, hence the pattern.
            "--toggle-collect=*qsort*",
            f"--callgrind-out-file={out}",
            sys.executable,
            __file__,
            "--child",
            str(spec),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.findall(done.stderr)
    if done.returncode != 0 or not found:
        raise SystemExit(
            f"the callgrind run failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        )
    return int(found[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="measured requests per variant")
    parser.add_argument("--warm", type=int, default=100, help="requests before counting starts")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--baseline-rev", help="count the project at this git revision too, e.g. main")
    parser.add_argument("--callgrind-out", type=Path, help="keep each variant's callgrind profile here")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--tiny", action="store_true", help="a few requests, to check it still works")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.tiny:
        args.requests, args.warm, args.users = 6, 4, 20

    users = alexa_traffic.user_ids(args.users)
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, database(args.backend) as url:
        folder = Path(tmp)
        alexa_traffic.seed_users(url, users)
        pki = alexa_traffic.write_pki(folder / "pki")
        signed = alexa_traffic.signed_requests(args.warm + args.requests, users, processes=1)
        spec = folder / "job.json"
        spec.write_text(
            json.dumps(
                {
                    "pki": str(pki),
                    "database_url": url,
                    "warm": args.warm,
                    "requests": [[s.body.decode(), s.signature] for s in signed],
                }
            )
        )
        variants: list[tuple[str, Path | None]] = []
        if args.baseline_rev:
            variants.append(
                (f"the project at {args.baseline_rev}", export_revision(args.baseline_rev, folder / "base"))
            )
        variants.append(("this working tree", None))
        keep = args.callgrind_out
        if keep:
            keep.mkdir(parents=True, exist_ok=True)
        for index, (name, source) in enumerate(variants):
            out = (keep or folder) / f"callgrind.{index}.out"
            figures[name] = count(source, spec, out) / args.requests
            print(f"{name}: {figures[name]:,.0f} instructions per request", flush=True)

    first = next(iter(figures.values()))
    title = (
        f"\nPOST /alexa in process under callgrind, {args.requests} signed requests per variant after "
        f"{args.warm} warm-up ones ({args.backend}, {args.users} users)"
    )
    rows = [[name, f"{value:,.0f}", f"{value / first:.3f}"] for name, value in figures.items()]
    print(table(title, ["variant", "instructions per request", "vs first"], rows))
    if args.json:
        args.json.write_text(json.dumps({"instructions_per_request": figures, "requests": args.requests}))


if __name__ == "__main__":
    main()
