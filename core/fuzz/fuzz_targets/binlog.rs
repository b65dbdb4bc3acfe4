//! Fuzzes the binlog reader over an in-memory store: no input may panic, allocate without
//! bound, or read past the object.
#![no_main]

use ferry_core::backup::binlog::read_binlog;
use ferry_core::memory::MemoryStore;
use ferry_core::ObjectKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let store = MemoryStore::new("fuzz");
    store.insert("f", data.to_vec()).expect("valid key");
    let key = ObjectKey::new("f").expect("valid key");
    let _ = futures::executor::block_on(read_binlog(&store, &key, data.len() as u64));
});
