#!/usr/bin/env python3
"""Ferry's benchmark against its peers (never part of the tests).

Generates milvus-backup-shaped folders (real layout, valid meta, binlog-sized files) with a
manifest (key, size, SHA-256), starts s3s-fs on 127.0.0.1 (two instances: A and B), and times
each tool on each scenario; every result is checked against the manifest — a fast wrong copy
is a failure. Writes bench/results/results.md and results.csv with the machine and versions.

  python3 bench/run.py --quick        # a few minutes: small shapes, one repetition per tool
  python3 bench/run.py                # small / medium / large shapes, median of 3

On a 2-core machine with the servers on the same cores this measures CPU efficiency per byte
more than network speed.
"""

import argparse, csv, hashlib, json, os, platform, resource, shutil, socket, statistics
import subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
S3S = ROOT / "target" / "test-servers" / "bin" / "s3s-fs"
KEY, SECRET = "AK", "SK"


def shapes(quick):
    if quick:
        return {"small": (2000, 16 * 1024), "medium": (8, 16 * 1024 * 1024)}
    return {"small": (20000, 16 * 1024), "medium": (200, 16 * 1024 * 1024), "large": (2, 1024 ** 3)}


def generate(dest: Path, name: str, count: int, size: int):
    """A backup of `count` binlogs of `size` bytes (6 fields per segment) and its manifest."""
    backup = dest / name
    # Short ids: s3s-fs keeps multipart uploads in files named after the whole key, and long
    # Milvus ids (18 digits) overflow its file-name limit for multipart objects.
    coll, part = 1, 2
    fields = 6
    segments, manifest, log = [], {}, 100000
    for s in range((count + fields - 1) // fields):
        seg = 1000 + s
        binlogs = []
        for f in range(min(fields, count - s * fields)):
            fid = f if f < 2 else 98 + f
            log += 1
            key = f"binlogs/insert_log/{coll}/{part}/{seg}/{seg}/{fid}/{log}"
            path = backup / key
            path.parent.mkdir(parents=True, exist_ok=True)
            block = hashlib.sha256(str(log).encode()).digest() * 32  # 1 KiB, distinct per file
            h = hashlib.sha256()
            with open(path, "wb") as out:
                left = size
                while left > 0:
                    piece = block * min(1024, (left + 1023) // 1024)
                    piece = piece[:left]
                    out.write(piece)
                    h.update(piece)
                    left -= len(piece)
            manifest[key] = (size, h.hexdigest())
            binlogs.append({"fieldID": fid, "binlogs": [{"log_path": f"files/insert_log/{coll}/{part}/{seg}/{fid}/{log}", "log_size": size, "log_id": log}]})
        segments.append({"segment_id": seg, "collection_id": coll, "partition_id": part, "num_of_rows": 100,
                         "binlogs": binlogs, "size": size * len(binlogs), "group_id": seg})
    total = sum(s["size"] for s in segments)
    full = {"name": name, "size": total, "collection_backups": [{"collection_id": coll, "collection_name": "bench",
            "partition_backups": [{"partition_id": part, "partition_name": "_default", "collection_id": coll, "segment_backups": segments}]}]}
    meta = backup / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    files = {"backup_meta.json": {"name": name, "size": total}, "collection_meta.json": {"infos": []},
             "partition_meta.json": {"infos": []}, "segment_meta.json": {"infos": segments}, "full_meta.json": full}
    for fname, doc in files.items():
        data = json.dumps(doc).encode()
        (meta / fname).write_bytes(data)
        manifest[f"meta/{fname}"] = (len(data), hashlib.sha256(data).hexdigest())
    return backup, manifest


def check(folder: Path, manifest):
    for key, (size, digest) in manifest.items():
        p = folder / key
        if not p.is_file() or p.stat().st_size != size:
            return f"{key}: missing or wrong size"
        if hashlib.sha256(p.read_bytes()).hexdigest() != digest:
            return f"{key}: wrong bytes"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3s(data: Path):
    port = free_port()
    (data / "bkt").mkdir(parents=True, exist_ok=True)
    (data / "bkt2").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([str(S3S), "--host", "127.0.0.1", "--port", str(port), "--access-key", KEY,
                             "--secret-key", SECRET, "--domain", f"localhost:{port}", str(data)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    raise SystemExit("s3s-fs did not start")


def timed(cmd, env):
    """Wall seconds, CPU seconds and peak RSS (MiB) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # /usr/bin/time is not everywhere: wait4 gives the child's own peak RSS.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[0]} failed: {stderr[-500:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--concurrency", type=int, default=16)
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    ferry = ROOT / "target" / "release" / "ferry"
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ferry-cli"], cwd=ROOT, check=True)
    if not S3S.exists():
        subprocess.run(["bash", str(ROOT / "tests/servers/install.sh")], check=True)
    peers = {name: shutil.which(name) for name in ["s5cmd", "rclone", "aws"]}
    work = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", FERRY_STATE_DIR=str(work / "state"))
    server, port = start_s3s(work / "s3")
    endpoint = f"http://127.0.0.1:{port}"
    rclone_conf = work / "rclone.conf"
    rclone_conf.write_text(f"[s3]\ntype = s3\nprovider = Other\naccess_key_id = {KEY}\nsecret_access_key = {SECRET}\nendpoint = {endpoint}\n")
    rows = []
    try:
        for shape, (count, size) in shapes(args.quick).items():
            src_root = work / f"src-{shape}"
            backup, manifest = generate(src_root, f"b{shape}", count, size)
            total = sum(s for s, _ in manifest.values())
            scenarios = {
                "local->local": {
                    "ferry": lambda d: [str(ferry), "migrate", str(backup), str(d), "--quiet", "--no-verify", "--concurrency", str(args.concurrency)],
                    "cp -r": lambda d: ["bash", "-c", f"mkdir -p {d} && cp -r {backup} {d}/"],
                },
                "local->s3": {
                    "ferry": lambda d: [str(ferry), "migrate", str(backup), f"minio://127.0.0.1:{port}/bkt/{d.name}/", "--quiet", "--no-verify", "--concurrency", str(args.concurrency)],
                },
            }
            if peers["s5cmd"]:
                scenarios["local->s3"]["s5cmd"] = lambda d: [peers["s5cmd"], "--endpoint-url", endpoint, "--numworkers", str(args.concurrency), "cp", f"{backup}/*", f"s3://bkt/{d.name}/{backup.name}/"]
            if peers["rclone"]:
                scenarios["local->s3"]["rclone"] = lambda d: [peers["rclone"], "--config", str(rclone_conf), "copy", "--transfers", str(args.concurrency), str(backup), f"s3:bkt/{d.name}/{backup.name}"]
            for scenario, tools in scenarios.items():
                for tool, make in tools.items():
                    walls, cpus, rss = [], [], []
                    for r in range(runs):
                        dest = work / f"dst-{shape}-{scenario.replace('>', '').replace('-', '')}-{tool.split()[0]}-{r}"
                        wall, cpu, peak = timed(make(dest), env)
                        if scenario == "local->local":
                            problem = check(dest / backup.name, manifest)
                        else:
                            problem = check(work / "s3" / "bkt" / dest.name / backup.name, manifest)
                        if problem:
                            raise SystemExit(f"{tool} {scenario} {shape}: WRONG COPY: {problem}")
                        walls.append(wall); cpus.append(cpu); rss.append(peak)
                    wall = statistics.median(walls)
                    rows.append({"shape": shape, "scenario": scenario, "tool": tool, "objects": len(manifest),
                                 "bytes": total, "median_s": round(wall, 3), "MB_per_s": round(total / wall / 1e6, 1),
                                 "objects_per_s": round(len(manifest) / wall), "cpu_s": round(statistics.median(cpus), 2),
                                 "peak_rss_MiB": round(max(rss), 1), "runs": runs})
                    print(f"{shape:7} {scenario:13} {tool:7} {wall:8.3f} s  {rows[-1]['MB_per_s']:8.1f} MB/s  cpu {rows[-1]['cpu_s']:6.2f} s  rss {rows[-1]['peak_rss_MiB']:6.1f} MiB", flush=True)
    finally:
        server.terminate()
        shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader(); w.writerows(rows)
    versions = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"}
    for name, path in peers.items():
        if path:
            out = subprocess.run([path, "--version" if name == "aws" else "version"], capture_output=True, text=True)
            versions[name] = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else "?"
    with open(RESULTS / "results.md", "w") as f:
        f.write(f"# Benchmark results ({'quick' if args.quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n")
        for k, v in versions.items():
            f.write(f"- {k}: {v}\n")
        f.write("\n| shape | scenario | tool | objects | bytes | median s | MB/s | objects/s | CPU s | peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            f.write(f"| {r['shape']} | {r['scenario']} | {r['tool']} | {r['objects']} | {r['bytes']} | {r['median_s']} | {r['MB_per_s']} | {r['objects_per_s']} | {r['cpu_s']} | {r['peak_rss_MiB']} |\n")
    print(f"written: {RESULTS / 'results.md'}")


if __name__ == "__main__":
    main()
