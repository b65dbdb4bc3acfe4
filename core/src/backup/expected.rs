//! The binlog objects a backup's meta references, with the backup keys they may sit under.
//! The optional group directory changed across milvus-backup versions (format notes §1.3), so
//! every plausible key is a candidate and the listing decides.

use std::collections::BTreeMap;

use super::meta::{CollectionInfo, FieldBinlog, SegmentInfo};
use crate::object::ObjectMeta;

/// Insert or delta log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogKind {
    /// `binlogs/insert_log/…`.
    Insert,
    /// `binlogs/delta_log/…`.
    Delta,
}

/// One file the meta references.
#[derive(Debug, Clone)]
pub struct ExpectedFile {
    /// Insert or delta.
    pub kind: LogKind,
    /// Collection id.
    pub collection_id: i64,
    /// Partition id (−1 for collection-level L0).
    pub partition_id: i64,
    /// Segment id.
    pub segment_id: i64,
    /// Field (or column group) id, for insert logs.
    pub field_id: i64,
    /// Log id.
    pub log_id: i64,
    /// `log_size` from the meta.
    pub log_size: i64,
    /// Candidate keys relative to the backup folder, most likely first.
    pub candidates: Vec<String>,
}

impl ExpectedFile {
    /// The first candidate present in `objects`.
    pub fn find<'a>(&self, objects: &BTreeMap<&str, &'a ObjectMeta>) -> Option<&'a ObjectMeta> {
        self.candidates
            .iter()
            .find_map(|c| objects.get(c.as_str()).copied())
    }
}

fn group_dirs(segment: &SegmentInfo) -> Vec<Option<i64>> {
    let mut dirs = vec![Some(segment.segment_id)];
    if segment.group_id != 0 && segment.group_id != segment.segment_id {
        dirs.push(Some(segment.group_id));
    }
    dirs.push(None);
    dirs
}

fn candidates(
    kind: LogKind,
    seg: &SegmentInfo,
    partition_id: i64,
    field: i64,
    log: i64,
) -> Vec<String> {
    let c = seg.collection_id;
    let s = seg.segment_id;
    group_dirs(seg)
        .into_iter()
        .map(|group| {
            let group = group.map(|g| format!("{g}/")).unwrap_or_default();
            match kind {
                LogKind::Insert => {
                    format!("binlogs/insert_log/{c}/{partition_id}/{group}{s}/{field}/{log}")
                }
                LogKind::Delta => format!("binlogs/delta_log/{c}/{partition_id}/{group}{s}/{log}"),
            }
        })
        .collect()
}

fn files_of(
    kind: LogKind,
    collection: &CollectionInfo,
    seg: &SegmentInfo,
    fields: &[FieldBinlog],
    out: &mut Vec<ExpectedFile>,
) {
    let collection_id = if seg.collection_id != 0 {
        seg.collection_id
    } else {
        collection.collection_id
    };
    let seg = SegmentInfo {
        collection_id,
        ..seg.clone()
    };
    for field in fields {
        for binlog in &field.binlogs {
            let Some(log_id) = binlog.effective_log_id() else {
                continue;
            };
            let field_id = match kind {
                LogKind::Insert if field.field_id != 0 => field.field_id,
                LogKind::Insert => binlog.field_id_from_path().unwrap_or(0),
                LogKind::Delta => 0,
            };
            out.push(ExpectedFile {
                kind,
                collection_id,
                partition_id: seg.partition_id,
                segment_id: seg.segment_id,
                field_id,
                log_id,
                log_size: binlog.log_size,
                candidates: candidates(kind, &seg, seg.partition_id, field_id, log_id),
            });
        }
    }
}

/// Every file referenced by one segment.
pub fn segment_files(collection: &CollectionInfo, segment: &SegmentInfo) -> Vec<ExpectedFile> {
    let mut out = Vec::new();
    files_of(
        LogKind::Insert,
        collection,
        segment,
        &segment.binlogs,
        &mut out,
    );
    files_of(
        LogKind::Delta,
        collection,
        segment,
        &segment.deltalogs,
        &mut out,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::meta::Binlog;

    fn seg(group: i64, partition: i64) -> SegmentInfo {
        SegmentInfo {
            segment_id: 30,
            collection_id: 10,
            partition_id: partition,
            group_id: group,
            binlogs: vec![FieldBinlog {
                field_id: 0,
                binlogs: vec![Binlog {
                    log_path: "files/insert_log/10/20/30/0/40".into(),
                    log_size: 5,
                    log_id: 0,
                }],
            }],
            deltalogs: vec![
                FieldBinlog::default(),
                FieldBinlog {
                    field_id: 0,
                    binlogs: vec![Binlog {
                        log_path: "files/delta_log/10/20/30/41".into(),
                        log_size: 3,
                        log_id: 41,
                    }],
                },
            ],
            ..Default::default()
        }
    }

    #[test]
    fn candidates_cover_every_layout() {
        let c = CollectionInfo::default();
        let files = segment_files(&c, &seg(30, 20));
        assert_eq!(files.len(), 2);
        let insert = &files[0];
        assert!(insert
            .candidates
            .contains(&"binlogs/insert_log/10/20/30/30/0/40".to_string()));
        assert!(insert
            .candidates
            .contains(&"binlogs/insert_log/10/20/30/0/40".to_string()));
        let delta = &files[1];
        assert!(delta
            .candidates
            .contains(&"binlogs/delta_log/10/20/30/30/41".to_string()));
        assert!(delta
            .candidates
            .contains(&"binlogs/delta_log/10/20/30/41".to_string()));
        // Old writers: a small group counter.
        let files = segment_files(&c, &seg(2, 20));
        assert!(files[0]
            .candidates
            .contains(&"binlogs/insert_log/10/20/2/30/0/40".to_string()));
        // Collection-level L0.
        let files = segment_files(&c, &seg(0, -1));
        assert!(files[1]
            .candidates
            .contains(&"binlogs/delta_log/10/-1/30/41".to_string()));
    }
}
