//! The test servers are the versions the tests were written against. Each test starts one server
//! the way every other test binary does (tests/support/servers.rs), and that start fails unless
//! the server reports the version pinned in tests/servers/versions.env. A moto of another
//! vintage first on PATH once failed four S3 tests with `SignatureDoesNotMatch`, which read like
//! a bug of Ferry's; with these checks such a machine fails here, naming the server and the pin.

mod support;

use support::servers;

#[test]
fn moto_reports_the_pinned_version() {
    let moto = servers::moto();
    assert!(moto.setup["buckets"]
        .as_array()
        .is_some_and(|b| b.len() == 2));
}

#[test]
fn s3s_fs_reports_the_pinned_version() {
    assert!(servers::s3s().port > 0);
}

#[test]
fn fake_gcs_server_reports_the_pinned_version() {
    assert!(servers::fake_gcs().port > 0);
}

#[test]
fn azurite_reports_the_pinned_version() {
    assert!(servers::azurite().port > 0);
}

#[test]
fn rclone_reports_the_pinned_version() {
    let data = tempfile::tempdir().unwrap();
    let server = servers::rclone_webdav(data.path(), "u", "p");
    server.kill();
}

#[test]
fn the_venv_python_is_the_projects_own() {
    let out = std::process::Command::new(servers::python())
        .args([
            "-c",
            "import sys, moto; print(sys.prefix != sys.base_prefix, moto.__version__)",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.trim(),
        format!("True {}", servers::pinned_version("MOTO_VERSION"))
    );
}

#[test]
#[should_panic(expected = "pins MOTO_VERSION=")]
fn another_version_than_the_pin_fails() {
    servers::assert_pinned("moto", "MOTO_VERSION", "5.2.1");
}
