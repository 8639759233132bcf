"""Instructions a request costs in-process, counted by valgrind's callgrind: unlike seconds, the
count is the same from run to run on a machine whose speed drifts, so two checkouts compare in
one pair of runs (run the script from each).

    python bench/request_instructions.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fs_bench
    python bench/request_instructions.py --what transition --floor

The database must hold demo data (as for lifecycle_load.py). The script starts itself under
`valgrind --tool=callgrind --instr-atstart=no`: the app is built, the clients sign in and warm it
up uncounted; `callgrind_control -i on` then counts `--requests` requests through Flask's test
client (*Today* of the first `--clients` bench installers in turn, or a `book` of their orders in
turn), and the total is divided by them. `--floor` counts bench/baseline_app.py's hand-written
floor for the same requests instead. Needs Debian's valgrind (it brings callgrind_control).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def measured(args: argparse.Namespace, ready: Path, go: Path, done: Path) -> None:
    """Inside valgrind: warm up, say so, wait for the count to start, run the requests."""
    os.environ["FIELDSVC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")
    from bench.common import signed_in
    from bench.lifecycle_load import prepare, window
    from fieldsvc import create_app

    clients, _counts = prepare(args.database_url, args.clients)
    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    browsers = [signed_in(app, client.username) for client in clients] if args.what == "today" else []
    prefix = ""
    if args.floor:
        from bench import baseline_app

        cookies = [browser.get_cookie("session").value for browser in browsers]
        browsers = []
        for cookie in cookies:
            browser = baseline_app.app.test_client()
            browser.set_cookie("session", cookie)
            browsers.append(browser)
        prefix = "/floor"
    api = (baseline_app.app if args.floor else app).test_client()

    def one(i: int) -> None:
        if args.what == "today":
            assert browsers[i % len(browsers)].get(f"{prefix}/today").status_code == 200
            return
        client = clients[i % len(clients)]
        response = api.post(f"{prefix or '/api/v1'}/work-orders/{client.number}/transitions",
                            json={"action": "book", "version": client.version, **window(i)},
                            headers={"Authorization": f"Bearer {client.token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        client.version = response.get_json()["version"]

    for i in range(3 * args.clients):
        one(i)
    ready.touch()
    while not go.exists():
        time.sleep(0.05)
    for i in range(args.requests):
        one(i)
    done.touch()
    while go.exists():
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench")
    parser.add_argument("--what", choices=("today", "transition"), default="today")
    parser.add_argument("--floor", action="store_true", help="count bench/baseline_app.py's floor instead")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # the run under valgrind, with its signal files
    args = parser.parse_args()
    if args.inside:
        measured(args, *(Path(args.inside) / name for name in ("ready", "go", "done")))
        return
    with tempfile.TemporaryDirectory() as work:
        signals = Path(work)
        out = signals / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                   sys.executable, __file__, *sys.argv[1:], "--inside", work]
        # A fixed hash seed: the same dictionaries, so the same instructions, run after run.
        with (signals / "valgrind.log").open("w") as log:
            process = subprocess.Popen(command, env={**os.environ, "PYTHONHASHSEED": "0"}, stdout=log, stderr=log)
            while not (signals / "ready").exists():
                if process.poll() is not None:
                    sys.exit((signals / "valgrind.log").read_text()[-3000:])
                time.sleep(0.5)
            subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True)
            (signals / "go").touch()
            while not (signals / "done").exists():
                time.sleep(0.5)
            subprocess.run(["callgrind_control", "-i", "off", str(process.pid)], check=True, capture_output=True)
            (signals / "go").unlink()
            process.wait()
        totals = subprocess.run(["callgrind_annotate", str(out)], check=True, capture_output=True, text=True).stdout
        total = int(re.search(r"([\d,]+) \(100\.0%\)\s+PROGRAM TOTALS", totals)[1].replace(",", ""))
    what = ("floor " if args.floor else "") + args.what
    print(f"{what}: {total // args.requests:,} instructions a request ({args.requests} requests, "
          f"{args.clients} clients)")


if __name__ == "__main__":
    main()
