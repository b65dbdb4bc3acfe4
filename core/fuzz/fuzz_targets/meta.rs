//! Fuzzes the meta parser and what reads a parsed tree: no input may panic.
#![no_main]

use ferry_core::backup::contradictions::contradictions;
use ferry_core::backup::expected::segment_files;
use ferry_core::backup::meta::{BackupInfo, LevelFile, SegmentInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = serde_json::from_slice::<BackupInfo>(data) {
        let _ = contradictions(&info.collection_backups);
        for c in &info.collection_backups {
            for p in &c.partition_backups {
                for s in &p.segment_backups {
                    let _ = segment_files(c, s);
                }
            }
            for s in &c.l0_segments {
                let _ = segment_files(c, s);
            }
        }
    }
    let _ = serde_json::from_slice::<LevelFile<SegmentInfo>>(data);
});
