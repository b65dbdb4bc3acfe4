//! Restoring a backup into a real Milvus 2.3.5 server and proving it there (issue 17). The
//! server runs in its own network namespace (tests/support/milvus.rs); pymilvus 2.3.8 is only the
//! independent checker.

mod support;

use serde_json::json;
use support::milvus::milvus;

#[test]
fn the_test_server_runs_and_the_checker_reaches_it() {
    let server = milvus();
    let answer = server.check(json!({"op": "collections"}));
    assert!(answer["collections"].is_array(), "{answer}");
    assert!(server.storage.is_dir(), "{}", server.storage.display());
}
