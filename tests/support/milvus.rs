//! A real Milvus 2.3.5 standalone server for the tests (PyPI `milvus`, "Embedded Milvus", from
//! `target/test-servers/milvus-venv`), one per test binary, started on first use.
//!
//! The server runs in its own mount + network namespace with only loopback (the way
//! `../shared/fixtures/real-milvus-2.3/tools/run_ns.sh` ran it): every role on 127.0.0.1, nothing
//! it does can leave the machine, and its fixed ports (19530, 2379, …) never meet another
//! server's. Its storage is local (`storageType: local`) in a folder of the host's file system, so
//! Ferry, running outside, writes there directly. Everything that talks to the server — `ferry`
//! and the pymilvus checker (`tests/servers/milvus_check.py`) — is started inside that network
//! namespace with `nsenter --net`. Authentication is on (user `root`, password `Milvus`), so every
//! test also proves that Ferry sends credentials. A missing server is a failure, never a skip.

use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::repo_root;
use super::servers::{assert_pinned, pinned_version, test_servers_dir};

/// The user Ferry and the checker log in as.
pub const USER: &str = "root";
/// That user's password (Milvus's default).
pub const PASSWORD: &str = "Milvus";

/// A running Milvus server in its own network namespace.
pub struct Milvus {
    /// gRPC port inside the namespace (on its 127.0.0.1).
    pub port: u16,
    /// Pid of the process whose network namespace the server lives in.
    pub pid: u32,
    /// The server's `localStorage.path`, a host folder.
    pub storage: PathBuf,
    /// The server's data folder (config, logs, etcd).
    pub data: PathBuf,
    _child: Child,
}

fn hint() -> &'static str {
    "run `bash tests/servers/install.sh` (or the README's test command, which does)"
}

/// The Python of `target/test-servers/milvus-venv` (milvus + pymilvus at the pinned versions).
pub fn milvus_python() -> PathBuf {
    let python = test_servers_dir().join("milvus-venv/bin/python");
    assert!(
        python.exists(),
        "the Milvus test server is not installed ({}): {}",
        python.display(),
        hint()
    );
    python
}

/// Spawns `cmd` from a thread that lives as long as the test process: the parent-death signal
/// set in `pre_exec` follows the forking *thread*, not the process.
fn spawn_from_living_thread(mut cmd: Command) -> std::io::Result<Child> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(cmd.spawn());
        loop {
            std::thread::park();
        }
    });
    rx.recv().expect("the spawning thread answers")
}

/// Starts a server with `extra` milvus_run.py arguments (`auth`, `key=value`) in `dir`.
pub fn start_milvus(dir: &Path, extra: &[&str]) -> Milvus {
    let data = dir.join("mdata");
    let runmnt = dir.join("runmnt");
    std::fs::create_dir_all(&runmnt).unwrap();
    let log = dir.join("milvus_run.log");
    let script = r#"set -e
mount --make-rprivate /
ip link set lo up
mkdir -p /run/milvus
mount --bind "$FERRY_TEST_RUNMNT" /run/milvus
exec "$@""#;
    let mut cmd = Command::new("unshare");
    cmd.args(["-m", "-n", "bash", "-c", script, "ns"])
        .arg(milvus_python())
        .arg(repo_root().join("tests/servers/milvus_run.py"))
        .arg(&data)
        .args(extra)
        .env("FERRY_TEST_RUNMNT", &runmnt)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    // SAFETY: prctl is async-signal-safe; it asks the kernel to signal the child when the thread
    // that forked it exits (milvus_run.py then kills the server).
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
    let mut child = spawn_from_living_thread(cmd).unwrap_or_else(|e| {
        panic!(
            "cannot start `unshare` for the Milvus test server: {e}; it needs util-linux and root"
        )
    });
    let stdout = child.stdout.take().unwrap();
    let (line_tx, line_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = line_tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let line = line_rx
        .recv_timeout(Duration::from_secs(180))
        .unwrap_or_default();
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.len() != 4 || fields[0] != "ready" {
        let _ = child.kill();
        panic!(
            "the Milvus test server did not start (said {line:?}); its log {}:\n{}\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default(),
            hint()
        );
    }
    assert_pinned("milvus (PyPI)", "MILVUS_VERSION", fields[1]);
    Milvus {
        port: fields[2].parse().unwrap(),
        pid: child.id(),
        storage: PathBuf::from(fields[3]),
        data,
        _child: child,
    }
}

/// The server of this test binary: authentication on, started on first use.
pub fn milvus() -> &'static Milvus {
    static SERVER: OnceLock<(tempfile::TempDir, Milvus)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("ferry-milvus-")
                .tempdir()
                .unwrap();
            let server = start_milvus(dir.path(), &["auth"]);
            (dir, server)
        })
        .1
}

impl Milvus {
    /// `milvus://127.0.0.1:<port>` (as seen inside the namespace).
    pub fn url(&self) -> String {
        format!("milvus://127.0.0.1:{}", self.port)
    }

    /// `program` run inside the server's network namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/proc/{}/ns/net", self.pid))
            .arg("--")
            .arg(program);
        cmd
    }

    /// Runs `ferry` (set up as `support::ferry_env` does) inside the namespace.
    pub fn ferry(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        super::ferry_command(self.command(super::ferry_bin()), args, env)
            .output()
            .expect("ferry runs under nsenter")
    }

    /// Starts `ferry` (set up as `support::ferry_env` does) inside the namespace, without waiting.
    pub fn spawn_ferry(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        super::ferry_command(self.command(super::ferry_bin()), args, env)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ferry starts under nsenter")
    }

    /// Asks the independent checker (pymilvus 2.3.8) `request`; panics when it fails.
    pub fn check(&self, request: Value) -> Value {
        let out = self
            .command(milvus_python())
            .arg(repo_root().join("tests/servers/milvus_check.py"))
            .arg(self.port.to_string())
            .arg(request.to_string())
            .output()
            .expect("the pymilvus checker runs");
        assert!(
            out.status.success(),
            "pymilvus checker failed on {request}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "checker printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Milvus {
    /// Starts an s3s-fs (disk-backed S3, the pinned one from target/test-servers/bin) inside this
    /// server's network namespace, over `data` with bucket `bkt1`; returns it and its port.
    /// It dies with the test process.
    // The child is returned to the caller, who holds it while the test runs; it dies with the
    // test process (parent-death signal), so it is never left a zombie for long.
    #[allow(clippy::zombie_processes)]
    pub fn start_s3s_inside(&self, data: &Path) -> (Child, u16) {
        let bin = test_servers_dir().join("bin/s3s-fs");
        assert!(
            bin.exists(),
            "s3s-fs is not installed ({}): {}",
            bin.display(),
            hint()
        );
        let version = Command::new(&bin)
            .arg("--version")
            .output()
            .expect("s3s-fs --version");
        let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
        assert_pinned(
            "s3s-fs",
            "S3S_FS_VERSION",
            version.strip_prefix("s3s-fs ").unwrap_or(&version),
        );
        std::fs::create_dir_all(data.join("bkt1")).unwrap();
        // Ports inside the namespace are free but for Milvus's own.
        let port = 39_000 + (std::process::id() % 1000) as u16;
        let mut cmd = self.command(&bin);
        cmd.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
        ])
        .arg(super::servers::S3S_KEY)
        .arg("--secret-key")
        .arg(super::servers::S3S_SECRET)
        .arg("--domain")
        .arg(format!("localhost:{port}"))
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: see start_milvus.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = spawn_from_living_thread(cmd).expect("s3s-fs starts under nsenter");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let probe = self
                .command("bash")
                .args(["-c", &format!("exec 3<>/dev/tcp/127.0.0.1/{port}")])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            if probe.success() {
                return (child, port);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "s3s-fs did not start in the namespace"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The pinned server version Ferry must read back with GetVersion.
pub fn pinned_server_version() -> &'static str {
    pinned_version("MILVUS_SERVER_VERSION")
}
