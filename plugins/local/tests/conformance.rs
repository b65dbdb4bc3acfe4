//! The conformance kit, check by check, against the local plugin on a folder of the system's
//! temporary directory (one per test process; each check works in its own `kit-…/` folder of
//! it and removes what it wrote).

use std::sync::Arc;

use ferry_core::Location;
use ferry_plugin_local::LocalStore;
use ferry_testkit::Pair;

async fn pair() -> Pair {
    let dir = std::env::temp_dir().join(format!("ferry-local-conformance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store =
        Arc::new(LocalStore::open_for_writing(Location::local(dir.to_str().unwrap())).unwrap());
    Pair {
        source: store.clone(),
        sink: store,
    }
}

ferry_testkit::conformance_tests!(pair());
