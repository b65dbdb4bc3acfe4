#!/usr/bin/env python3
"""Ferry's benchmark against its peers (never part of the tests).

Generates milvus-backup-shaped folders (real layout, valid meta, binlog-sized files) with a
manifest (key, size, SHA-256), starts two s3s-fs servers on 127.0.0.1 (A and B), and times each
tool on each scenario:

  local->local     Ferry, cp -r, cp -r + sync (the durable reference)
  local->s3        Ferry, s5cmd, rclone, AWS CLI          (into server A)
  s3->local        Ferry, s5cmd, rclone, AWS CLI          (out of server A)
  s3A->s3B         Ferry, rclone                          (streaming between two endpoints;
                                                           s5cmd and the AWS CLI take one
                                                           endpoint only)
  bucket->bucket   Ferry, s5cmd, rclone, AWS CLI          (one server: server-side copies)

Every tool gets the same concurrency budget and 8 MiB parts ("same budget"); with --defaults each
peer also runs with its own defaults. Every result is checked against the manifest (objects are
plain files in s3s-fs's data folder) - a fast wrong copy is a failure. Figures: median wall time
of the runs, MB/s, objects/s, client CPU seconds and peak RSS (/usr/bin/time), written to
bench/results/results.md, results.csv and throughput.png with the machine and versions.

  python3 bench/run.py --quick        # under 3 minutes: small shapes, one run per tool
  python3 bench/run.py                # small / medium / large shapes, median of 3

On a 2-core machine with the servers on the same cores this measures CPU efficiency per byte
more than network speed.
"""

import argparse, csv, hashlib, json, os, platform, shutil, socket, statistics
import subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
S3S = ROOT / "target" / "test-servers" / "bin" / "s3s-fs"
KEY, SECRET = "AK", "SK"
PART_MIB = 8


def shapes(quick):
    """name -> (objects, (min size, max size))."""
    if quick:
        return {"small": (2000, (1024, 64 * 1024)), "medium": (12, (16 << 20, 16 << 20))}
    return {"small": (20000, (1024, 64 * 1024)), "medium": (200, (16 << 20, 16 << 20)),
            "large": (2, (1 << 30, 1 << 30))}


def size_of(log, lo, hi):
    """A deterministic size in [lo, hi] for binlog `log`."""
    if lo == hi:
        return lo
    h = int.from_bytes(hashlib.sha256(f"size{log}".encode()).digest()[:8], "big")
    return lo + h % (hi - lo + 1)


def generate(dest: Path, name: str, count: int, sizes):
    """A backup of `count` binlogs (6 fields per segment) and its manifest {key: (size, sha256)}."""
    backup = dest / name
    # Short ids: s3s-fs names metadata files after the base64 of the key (255-byte file names).
    coll, part, fields = 1, 2, 6
    segments, manifest, log = [], {}, 100000
    for s in range((count + fields - 1) // fields):
        seg = 1000 + s
        binlogs = []
        for f in range(min(fields, count - s * fields)):
            fid = f if f < 2 else 98 + f
            log += 1
            size = size_of(log, *sizes)
            key = f"binlogs/insert_log/{coll}/{part}/{seg}/{seg}/{fid}/{log}"
            path = backup / key
            path.parent.mkdir(parents=True, exist_ok=True)
            block = hashlib.sha256(str(log).encode()).digest() * 32  # 1 KiB, distinct per file
            piece_full = block * 1024  # 1 MiB
            h = hashlib.sha256()
            with open(path, "wb") as out:
                left = size
                while left > 0:
                    piece = piece_full[:left]
                    out.write(piece)
                    h.update(piece)
                    left -= len(piece)
            manifest[key] = (size, h.hexdigest())
            binlogs.append({"fieldID": fid, "binlogs": [{"log_path": f"files/insert_log/{coll}/{part}/{seg}/{fid}/{log}",
                                                         "log_size": size, "log_id": log, "entries_num": 100}]})
        segments.append({"segment_id": seg, "collection_id": coll, "partition_id": part, "num_of_rows": 100,
                         "binlogs": binlogs, "size": sum(b["binlogs"][0]["log_size"] for b in binlogs), "group_id": seg})
    total = sum(s["size"] for s in segments)
    full = {"name": name, "size": total, "collection_backups": [{"collection_id": coll, "collection_name": "bench",
            "partition_backups": [{"partition_id": part, "partition_name": "_default", "collection_id": coll,
                                   "segment_backups": segments}]}]}
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
    """None when `folder` holds exactly the manifest's bytes, else the first problem."""
    for key, (size, digest) in manifest.items():
        p = folder / key
        if not p.is_file() or p.stat().st_size != size:
            return f"{key}: missing or wrong size"
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != digest:
            return f"{key}: wrong bytes"
    return None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class S3Server:
    """One s3s-fs on 127.0.0.1 with buckets bkt and bkt2; objects are files under data/."""

    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        for b in ("bkt", "bkt2"):
            (data / b).mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([str(S3S), "--host", "127.0.0.1", "--port", str(self.port), "--access-key", KEY,
                                      "--secret-key", SECRET, "--domain", f"localhost:{self.port}", str(data)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("s3s-fs did not start")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def path(self, bucket, prefix):
        return self.data / bucket / prefix


TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run_measured(cmd, env):
    """Wall seconds, the child's CPU seconds (wait4) and peak RSS (MiB), and its stdout."""
    # Start every run with no dirty pages: a tool that syncs must not pay for the previous
    # tool's unsynced writes.
    os.sync()
    # The peak RSS comes from /usr/bin/time, whose child is forked from a small process: a child
    # forked from this Python process starts with Python's resident pages, which wait4's
    # ru_maxrss would count as the tool's.
    rss_file = WORK / "peak-rss"
    rss_file.unlink(missing_ok=True)
    if TIME:
        cmd = [TIME, "-f", "%M", "-o", str(rss_file)] + list(cmd)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Read the pipes while waiting, then reap with wait4 for the CPU seconds of the whole tree.
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({proc.returncode}): {err.decode(errors='replace')[-800:]}")
    peak = usage.ru_maxrss / 1024
    if TIME and rss_file.exists():
        peak = int(rss_file.read_text().split()[-1]) / 1024
    return wall, usage.ru_utime + usage.ru_stime, peak, out.decode(errors="replace")


class Tools:
    """Command lines of every tool for every scenario; None where a tool cannot do it."""

    def __init__(self, work, a, b, concurrency, own_defaults):
        self.ferry = str(ROOT / "target" / "release" / "ferry")
        self.s5cmd, self.rclone, self.aws = (shutil.which(n) for n in ("s5cmd", "rclone", "aws"))
        self.a, self.b, self.c, self.defaults = a, b, concurrency, own_defaults
        self.rclone_conf = work / "rclone.conf"
        common = f"type = s3\nprovider = Other\naccess_key_id = {KEY}\nsecret_access_key = {SECRET}\nforce_path_style = true\n"
        self.rclone_conf.write_text(f"[a]\n{common}endpoint = {a.endpoint}\n\n[b]\n{common}endpoint = {b.endpoint}\n")
        self.aws_conf = work / "aws-config"
        lines = ["[default]", "region = us-east-1", "s3 ="]
        if not own_defaults:
            lines += [f"  max_concurrent_requests = {concurrency}", f"  multipart_chunksize = {PART_MIB}MB",
                      f"  multipart_threshold = {PART_MIB}MB"]
        self.aws_conf.write_text("\n".join(lines) + "\n")

    def ferry_cmd(self, src, dst, extra=()):
        cmd = [self.ferry, "migrate", src, dst, "--json", "--no-verify"]
        if not self.defaults:
            cmd += ["--concurrency", str(self.c)]
        return cmd + list(extra)

    def s5(self, endpoint, *args):
        cmd = [self.s5cmd, "--endpoint-url", endpoint]
        if not self.defaults:
            cmd += ["--numworkers", str(self.c)]
        cmd += ["cp"]
        if not self.defaults:
            cmd += ["--part-size", str(PART_MIB), "--concurrency", "2"]
        return cmd + list(args)

    def rc(self, *args):
        # s3s-fs answers HEAD on a folder with 500, and rclone's NewFs probes the source path
        # with HEAD, retrying low-level errors 10 times with back-off (4 minutes per run):
        # one low-level retry keeps rclone's behaviour otherwise unchanged.
        cmd = [self.rclone, "--config", str(self.rclone_conf), "copy", "--low-level-retries", "1"]
        if not self.defaults:
            cmd += ["--transfers", str(self.c), "--checkers", str(self.c), "--s3-chunk-size", f"{PART_MIB}M",
                    "--s3-upload-cutoff", f"{PART_MIB}M", "--s3-upload-concurrency", "2"]
        return cmd + list(args)

    def aws_cp(self, endpoint, src, dst):
        return [self.aws, "--endpoint-url", endpoint, "s3", "cp", "--recursive", "--only-show-errors", src, dst]

    def scenarios(self, backup: Path, seed: str):
        """scenario -> {tool: (make_cmd(dest_name), where(dest_name) -> folder to check)}."""
        name = backup.name
        a, b = self.a, self.b
        s = {
            "local->local": {
                "ferry": (lambda d: self.ferry_cmd(str(backup), str(WORK / d)), lambda d: WORK / d / name),
                "cp -r": (lambda d: ["bash", "-c", f"mkdir -p {WORK / d} && cp -r {backup} {WORK / d}/"],
                          lambda d: WORK / d / name),
                # The durable reference: Ferry syncs what it wrote before it writes the meta.
                "cp+sync": (lambda d: ["bash", "-c", f"mkdir -p {WORK / d} && cp -r {backup} {WORK / d}/ && sync -f {WORK / d}"],
                            lambda d: WORK / d / name),
            },
            "local->s3": {
                "ferry": (lambda d: self.ferry_cmd(str(backup), f"minio://127.0.0.1:{a.port}/bkt/{d}/"),
                          lambda d: a.path("bkt", f"{d}/{name}")),
            },
            "s3->local": {
                "ferry": (lambda d: self.ferry_cmd(f"minio://127.0.0.1:{a.port}/bkt/{seed}/{name}/", str(WORK / d)),
                          lambda d: WORK / d / name),
            },
            "s3A->s3B": {
                "ferry": (lambda d: self.ferry_cmd(f"minio://127.0.0.1:{a.port}/bkt/{seed}/{name}/",
                                                   f"minio://127.0.0.1:{b.port}/bkt/{d}/"),
                          lambda d: b.path("bkt", f"{d}/{name}")),
            },
            "bucket->bucket": {
                "ferry": (lambda d: self.ferry_cmd(f"minio://127.0.0.1:{a.port}/bkt/{seed}/{name}/",
                                                   f"minio://127.0.0.1:{a.port}/bkt2/{d}/"),
                          lambda d: a.path("bkt2", f"{d}/{name}")),
            },
        }
        if self.s5cmd:
            s["local->s3"]["s5cmd"] = (lambda d: self.s5(a.endpoint, f"{backup}/*", f"s3://bkt/{d}/{name}/"),
                                       lambda d: a.path("bkt", f"{d}/{name}"))
            s["s3->local"]["s5cmd"] = (lambda d: self.s5(a.endpoint, f"s3://bkt/{seed}/{name}/*", f"{WORK / d}/{name}/"),
                                       lambda d: WORK / d / name)
            s["bucket->bucket"]["s5cmd"] = (lambda d: self.s5(a.endpoint, f"s3://bkt/{seed}/{name}/*", f"s3://bkt2/{d}/{name}/"),
                                            lambda d: a.path("bkt2", f"{d}/{name}"))
        if self.rclone:
            s["local->s3"]["rclone"] = (lambda d: self.rc(str(backup), f"a:bkt/{d}/{name}"),
                                        lambda d: a.path("bkt", f"{d}/{name}"))
            s["s3->local"]["rclone"] = (lambda d: self.rc(f"a:bkt/{seed}/{name}", str(WORK / d / name)),
                                        lambda d: WORK / d / name)
            s["s3A->s3B"]["rclone"] = (lambda d: self.rc(f"a:bkt/{seed}/{name}", f"b:bkt/{d}/{name}"),
                                       lambda d: b.path("bkt", f"{d}/{name}"))
            s["bucket->bucket"]["rclone"] = (lambda d: self.rc(f"a:bkt/{seed}/{name}", f"a:bkt2/{d}/{name}"),
                                             lambda d: a.path("bkt2", f"{d}/{name}"))
        if self.aws:
            s["local->s3"]["aws"] = (lambda d: self.aws_cp(a.endpoint, str(backup), f"s3://bkt/{d}/{name}/"),
                                     lambda d: a.path("bkt", f"{d}/{name}"))
            s["s3->local"]["aws"] = (lambda d: self.aws_cp(a.endpoint, f"s3://bkt/{seed}/{name}/", f"{WORK / d}/{name}/"),
                                     lambda d: WORK / d / name)
            s["bucket->bucket"]["aws"] = (lambda d: self.aws_cp(a.endpoint, f"s3://bkt/{seed}/{name}/", f"s3://bkt2/{d}/{name}/"),
                                          lambda d: a.path("bkt2", f"{d}/{name}"))
        return s


WORK = Path(".")


def ferry_server_side(stdout):
    """Objects Ferry reports as copied server-side (last NDJSON document)."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if doc.get("event") == "finished":
            return sum((b.get("transfer") or {}).get("server_side", 0) for b in (doc.get("report") or doc).get("backups", []))
    return None


def chart(rows, path):
    """A PNG: throughput (MB/s) per scenario per tool, one panel per shape."""
    try:
        import matplotlib
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "matplotlib"], check=False)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installable here: no chart")
        return
    shapes_seen = list(dict.fromkeys(r["shape"] for r in rows))
    fig, axes = plt.subplots(1, len(shapes_seen), figsize=(7 * len(shapes_seen), 4.5), squeeze=False)
    for ax, shape in zip(axes[0], shapes_seen):
        sub = [r for r in rows if r["shape"] == shape and r["mode"] == "same budget"]
        scen = list(dict.fromkeys(r["scenario"] for r in sub))
        tools = list(dict.fromkeys(r["tool"] for r in sub))
        width = 0.8 / max(1, len(tools))
        for i, tool in enumerate(tools):
            xs, ys = [], []
            for j, sc in enumerate(scen):
                match = [r for r in sub if r["scenario"] == sc and r["tool"] == tool]
                if match:
                    xs.append(j + i * width)
                    ys.append(match[0]["MB_per_s"])
            ax.bar(xs, ys, width, label=tool)
        ax.set_xticks([j + width * (len(tools) - 1) / 2 for j in range(len(scen))])
        ax.set_xticklabels(scen, rotation=20)
        ax.set_ylabel("MB/s (higher is better)")
        ax.set_title(f"{shape}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def flamegraph_tools():
    """(perf, inferno-collapse-perf, inferno-flamegraph), installing inferno with cargo if needed;
    None (with the reason printed) where perf is missing."""
    perf = shutil.which("perf")
    if not perf:
        print("perf is not installed: no flamegraphs (Debian: apt-get install linux-perf)")
        return None
    tools = ROOT / "target" / "bench-tools"
    collapse, flame = tools / "bin" / "inferno-collapse-perf", tools / "bin" / "inferno-flamegraph"
    if not flame.exists():
        subprocess.run(["cargo", "install", "--quiet", "--locked", "inferno", "--version", "0.12.8",
                        "--root", str(tools)], check=True)
    return perf, str(collapse), str(flame)


def flamegraph(tools, cmd, env, svg: Path, title):
    """Runs `cmd` once under `perf record` (not timed) and writes its flamegraph to `svg`."""
    perf, collapse, flame = tools
    data = WORK / "perf.data"
    subprocess.run([perf, "record", "-q", "-F", "499", "--call-graph", "dwarf,16384", "-o", str(data), "--"] + cmd,
                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    script = subprocess.run([perf, "script", "-i", str(data)], capture_output=True, check=True).stdout
    folded = subprocess.run([collapse], input=script, capture_output=True, check=True).stdout
    svg.write_bytes(subprocess.run([flame, "--title", title], input=folded, capture_output=True, check=True).stdout)
    data.unlink(missing_ok=True)


def main():
    global WORK
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small shapes, one run each (under 3 minutes)")
    ap.add_argument("--runs", type=int, default=None, help="runs per tool and scenario (median reported)")
    ap.add_argument("--concurrency", type=int, default=16, help="the concurrency budget every tool gets")
    ap.add_argument("--defaults", action="store_true", help="also run every tool with its own defaults")
    ap.add_argument("--shapes", default=None, help="comma-separated subset of shapes")
    ap.add_argument("--scenarios", default=None, help="comma-separated subset of scenarios")
    ap.add_argument("--out", default=None, help="results folder (default: bench/results)")
    ap.add_argument("--flamegraph", action="store_true",
                    help="also profile one extra (untimed) Ferry run per shape and scenario with perf; "
                         "writes flame-<shape>-<scenario>.svg next to the results")
    args = ap.parse_args()
    profiler = flamegraph_tools() if args.flamegraph else None
    runs = args.runs or (1 if args.quick else 3)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "ferry-cli"], cwd=ROOT, check=True)
    if not S3S.exists():
        subprocess.run(["bash", str(ROOT / "tests/servers/install.sh")], check=True)
    WORK = Path(tempfile.mkdtemp(prefix="ferry-bench-"))
    env = dict(os.environ, AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET, AWS_REGION="us-east-1",
               AWS_EC2_METADATA_DISABLED="true", FERRY_STATE_DIR=str(WORK / "state"),
               AWS_CONFIG_FILE=str(WORK / "aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(WORK / "none"),
               RCLONE_CONFIG=str(WORK / "rclone.conf"), NO_PROXY="127.0.0.1,localhost")
    a, b = S3Server(WORK / "s3a"), S3Server(WORK / "s3b")
    rows, notes = [], []
    started = time.time()
    modes = [("same budget", False)] + ([("own defaults", True)] if args.defaults else [])
    try:
        chosen = shapes(args.quick)
        if args.shapes:
            chosen = {k: v for k, v in chosen.items() if k in args.shapes.split(",")}
        for shape, (count, sizes) in chosen.items():
            backup, manifest = generate(WORK / f"src-{shape}", f"b{shape}", count, sizes)
            # Warm-up, untimed: on a VM the first tool to fill gigabytes of page cache pays for
            # the host faulting in fresh guest memory (seen: the same copy 1.1 s or 4.7 s by
            # order alone). One copy of the shape, deleted, makes that memory warm for all.
            warm = WORK / "warm-up"
            subprocess.run(["cp", "-r", str(backup), str(warm)], check=True)
            shutil.rmtree(warm)
            total = sum(s for s, _ in manifest.values())
            seed = f"seed-{shape}"
            seeder = Tools(WORK, a, b, args.concurrency, False)
            run_measured(seeder.ferry_cmd(str(backup), f"minio://127.0.0.1:{a.port}/bkt/{seed}/"), env)
            problem = check(a.path("bkt", f"{seed}/{backup.name}"), manifest)
            if problem:
                raise SystemExit(f"seeding {shape}: {problem}")
            for mode, own in modes:
                tools = Tools(WORK, a, b, args.concurrency, own)
                for scenario, by_tool in tools.scenarios(backup, seed).items():
                    if args.scenarios and scenario not in args.scenarios.split(","):
                        continue
                    for tool, (make, where) in by_tool.items():
                        if own and tool in ("cp -r", "cp+sync"):
                            continue
                        walls, cpus, rss, server_side = [], [], [], None
                        for r in range(runs):
                            dest = f"d-{shape}-{scenario.replace('>', '').replace('-', '')}-{tool.split()[0]}-{'o' if own else 's'}{r}"
                            wall, cpu, peak, out = run_measured(make(dest), env)
                            problem = check(where(dest), manifest)
                            if problem:
                                raise SystemExit(f"{tool} {scenario} {shape}: WRONG COPY: {problem}")
                            if tool == "ferry":
                                server_side = ferry_server_side(out)
                            walls.append(wall); cpus.append(cpu); rss.append(peak)
                            shutil.rmtree(where(dest), ignore_errors=True)
                        if profiler and tool == "ferry" and not own:
                            dest = f"p-{shape}-{scenario.replace('>', '').replace('-', '')}"
                            svg = (Path(args.out) if args.out else RESULTS) / f"flame-{shape}-{scenario.replace('>', '-')}.svg"
                            svg.parent.mkdir(parents=True, exist_ok=True)
                            flamegraph(profiler, make(dest), env, svg, f"ferry {scenario} ({shape})")
                            shutil.rmtree(where(dest), ignore_errors=True)
                        wall = statistics.median(walls)
                        row = {"shape": shape, "scenario": scenario, "tool": tool, "mode": mode,
                               "objects": len(manifest), "bytes": total, "median_s": round(wall, 3),
                               "MB_per_s": round(total / wall / 1e6, 1), "objects_per_s": round(len(manifest) / wall),
                               "cpu_s": round(statistics.median(cpus), 2), "peak_rss_MiB": round(max(rss), 1),
                               "runs": runs, "server_side": "" if server_side is None else server_side}
                        rows.append(row)
                        print(f"{shape:7} {scenario:15} {tool:7} {mode:12} {wall:8.3f} s {row['MB_per_s']:8.1f} MB/s "
                              f"cpu {row['cpu_s']:6.2f} s rss {row['peak_rss_MiB']:6.1f} MiB"
                              + (f" server-side {server_side}" if server_side else ""), flush=True)
            if shape == "small":
                # The journal's share: the same local copy recorded as a job, and not.
                with_job, without = [], []
                for r in range(max(runs, 3)):
                    for extra, into in (((), with_job), (("--no-job",), without)):
                        dest = f"j-{r}-{len(extra)}"
                        wall, *_ = run_measured(Tools(WORK, a, b, args.concurrency, False).ferry_cmd(
                            str(backup), str(WORK / dest), extra), env)
                        into.append(wall)
                        shutil.rmtree(WORK / dest, ignore_errors=True)
                j, n = statistics.median(with_job), statistics.median(without)
                notes.append(f"journal share (small, local->local): {j:.3f} s recorded as a job vs {n:.3f} s with "
                             f"--no-job: {100 * (j - n) / j:+.1f}% of wall time")
                print(notes[-1], flush=True)
    finally:
        a.proc.terminate(); b.proc.terminate()
        shutil.rmtree(WORK, ignore_errors=True)
    write_results(rows, notes, args, runs, time.time() - started)


def write_results(rows, notes, args, runs, seconds):
    global RESULTS
    if args.out:
        RESULTS = Path(args.out)
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        w.writeheader(); w.writerows(rows)
    versions = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}"}
    for name, flag in (("ferry", "--version"), ("s5cmd", "version"), ("rclone", "version"), ("aws", "--version")):
        path = str(ROOT / "target/release/ferry") if name == "ferry" else shutil.which(name)
        if path:
            out = subprocess.run([path, flag], capture_output=True, text=True)
            text = (out.stdout or out.stderr).strip()
            versions[name] = text.splitlines()[0] if text else "?"
    best = {}
    for r in rows:
        if r["mode"] == "same budget" and r["tool"] != "ferry":
            k = (r["shape"], r["scenario"])
            if k not in best or r["median_s"] < best[k]["median_s"]:
                best[k] = r
    with open(RESULTS / "results.md", "w") as f:
        f.write(f"# Benchmark results ({'quick' if args.quick else 'full'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})\n\n")
        f.write(f"`python3 bench/run.py {' '.join(sys.argv[1:])}`: {runs} run(s) per tool and scenario "
                f"(median), concurrency {args.concurrency}, {PART_MIB} MiB parts; {seconds:.0f} s in all. Servers: two "
                f"s3s-fs on 127.0.0.1 sharing the machine's cores with the clients, so this measures CPU "
                f"efficiency per byte more than network speed.\n\n")
        for k, v in versions.items():
            f.write(f"- {k}: {v}\n")
        f.write("\n| shape | scenario | tool | mode | objects | bytes | median s | MB/s | objects/s | CPU s | peak RSS MiB | server-side | vs best peer |\n")
        f.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
        for r in rows:
            ratio = ""
            if r["tool"] == "ferry" and r["mode"] == "same budget" and (r["shape"], r["scenario"]) in best:
                b = best[(r["shape"], r["scenario"])]
                ratio = f"{r['median_s'] / b['median_s']:.2f}x {b['tool']}"
            f.write(f"| {r['shape']} | {r['scenario']} | {r['tool']} | {r['mode']} | {r['objects']} | {r['bytes']} | "
                    f"{r['median_s']} | {r['MB_per_s']} | {r['objects_per_s']} | {r['cpu_s']} | {r['peak_rss_MiB']} | "
                    f"{r['server_side']} | {ratio} |\n")
        if notes:
            f.write("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
        f.write("\n![throughput](throughput.png)\n")
    chart(rows, RESULTS / "throughput.png")
    print(f"written: {RESULTS / 'results.md'}")


if __name__ == "__main__":
    main()
