//! Meta that contradicts itself: ids and names Milvus keeps unique that the meta repeats, counts
//! and sizes that cannot be, and children whose ids disagree with their parents. Found from the
//! meta alone (no listing, no `--deep`), before anything is written; a restore would otherwise
//! create and import from them. One pass over the tree with sets of ids: time and memory grow
//! with the meta, which is already in memory, and the report is capped per code by the caller.

use std::collections::{BTreeMap, BTreeSet};

use super::meta::{CollectionInfo, FieldBinlog, SegmentInfo};
use super::problem::{Problem, ProblemCode};

/// More rows than any real segment holds (Milvus seals segments at a few million rows).
const MAX_SEGMENT_ROWS: i64 = 1 << 40;
/// More bytes than any real object holds (S3's object limit is 5 TiB).
const MAX_OBJECT_BYTES: i64 = 5 << 40;

fn db(c: &CollectionInfo) -> &str {
    if c.db_name.is_empty() {
        "default"
    } else {
        &c.db_name
    }
}

/// Every contradiction in `collections`, in tree order.
pub fn contradictions(collections: &[CollectionInfo]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut collection_ids = BTreeSet::new();
    let mut collection_names = BTreeSet::new();
    let mut segment_ids: BTreeMap<i64, String> = BTreeMap::new();
    for c in collections {
        let name = format!("collection {}.{}", db(c), c.collection_name);
        if !collection_ids.insert(c.collection_id) {
            out.push(Problem::error(
                ProblemCode::DuplicateCollection,
                format!(
                    "{name}: collection id {} is listed twice in the meta",
                    c.collection_id
                ),
                None,
            ));
        }
        if !collection_names.insert((db(c).to_string(), c.collection_name.clone())) {
            out.push(Problem::error(
                ProblemCode::DuplicateCollection,
                format!("{name} is listed twice in the meta"),
                None,
            ));
        }
        if c.size < 0 {
            out.push(impossible(&name, "size", c.size));
        }
        let mut partition_ids = BTreeSet::new();
        let mut partition_names = BTreeSet::new();
        for p in &c.partition_backups {
            let pname = format!("{name}, partition {}", p.partition_name);
            if !partition_ids.insert(p.partition_id) {
                out.push(Problem::error(
                    ProblemCode::DuplicatePartition,
                    format!("{pname}: partition id {} is listed twice", p.partition_id),
                    None,
                ));
            } else if !partition_names.insert(p.partition_name.clone()) {
                out.push(Problem::error(
                    ProblemCode::DuplicatePartition,
                    format!("{pname} is listed twice"),
                    None,
                ));
            }
            if p.collection_id != 0 && c.collection_id != 0 && p.collection_id != c.collection_id {
                out.push(Problem::error(
                    ProblemCode::IdMismatch,
                    format!(
                        "{pname}: its collection_id {} is not the collection's {}",
                        p.collection_id, c.collection_id
                    ),
                    None,
                ));
            }
            if p.size < 0 {
                out.push(impossible(&pname, "size", p.size));
            }
            for s in &p.segment_backups {
                segment(
                    &mut out,
                    &mut segment_ids,
                    &pname,
                    c,
                    Some(p.partition_id),
                    s,
                );
            }
        }
        for s in &c.l0_segments {
            segment(&mut out, &mut segment_ids, &name, c, None, s);
        }
    }
    out
}

fn impossible(what: &str, field: &str, value: i64) -> Problem {
    Problem::error(
        ProblemCode::ImpossibleCount,
        format!("{what}: {field} {value} cannot be"),
        None,
    )
}

fn segment(
    out: &mut Vec<Problem>,
    seen: &mut BTreeMap<i64, String>,
    holder: &str,
    c: &CollectionInfo,
    partition_id: Option<i64>,
    s: &SegmentInfo,
) {
    let name = format!("{holder}, segment {}", s.segment_id);
    if let Some(first) = seen.get(&s.segment_id) {
        out.push(Problem::error(
            ProblemCode::DuplicateSegment,
            format!("{name} is also listed under {first}"),
            None,
        ));
    } else {
        seen.insert(s.segment_id, holder.to_string());
    }
    if s.num_of_rows < 0 || s.num_of_rows > MAX_SEGMENT_ROWS {
        out.push(impossible(&name, "num_of_rows", s.num_of_rows));
    }
    if s.size < 0 {
        out.push(impossible(&name, "size", s.size));
    }
    if s.collection_id != 0 && c.collection_id != 0 && s.collection_id != c.collection_id {
        out.push(Problem::error(
            ProblemCode::IdMismatch,
            format!(
                "{name}: its collection_id {} is not the collection's {}",
                s.collection_id, c.collection_id
            ),
            None,
        ));
    }
    if let Some(p) = partition_id {
        if s.partition_id != 0 && s.partition_id != p {
            out.push(Problem::error(
                ProblemCode::IdMismatch,
                format!(
                    "{name}: its partition_id {} is not the partition's {p}",
                    s.partition_id
                ),
                None,
            ));
        }
    }
    for (kind, fields) in [("insert", &s.binlogs), ("delta", &s.deltalogs)] {
        logs(out, &name, kind, fields);
    }
}

fn logs(out: &mut Vec<Problem>, segment: &str, kind: &str, fields: &[FieldBinlog]) {
    for f in fields {
        let mut ids = BTreeSet::new();
        for b in &f.binlogs {
            if b.log_size < 0 || b.log_size > MAX_OBJECT_BYTES {
                out.push(impossible(
                    &format!("{segment}, {kind} log {}", b.log_path),
                    "log_size",
                    b.log_size,
                ));
            }
            if let Some(id) = b.effective_log_id() {
                if !ids.insert(id) {
                    out.push(Problem::error(
                        ProblemCode::DuplicateBinlog,
                        format!(
                            "{segment}: {kind} log {id} of field {} is listed twice",
                            f.field_id
                        ),
                        None,
                    ));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(json: &str) -> Vec<CollectionInfo> {
        serde_json::from_str(json).unwrap()
    }

    fn codes(json: &str) -> Vec<ProblemCode> {
        contradictions(&tree(json))
            .into_iter()
            .map(|p| p.code)
            .collect()
    }

    #[test]
    fn a_consistent_tree_has_none() {
        let json = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[
            {"partition_id":2,"partition_name":"_default","collection_id":1,"segment_backups":[
              {"segment_id":3,"collection_id":1,"partition_id":2,"num_of_rows":5,
               "binlogs":[{"fieldID":100,"binlogs":[{"log_id":7,"log_size":10},{"log_id":8,"log_size":10}]}]}]}]}]"#;
        assert!(codes(json).is_empty());
    }

    #[test]
    fn each_contradiction_has_its_code() {
        let dup_collection = r#"[{"collection_id":1,"collection_name":"a"},{"collection_id":1,"collection_name":"b"}]"#;
        assert_eq!(codes(dup_collection), [ProblemCode::DuplicateCollection]);
        let same_name = r#"[{"collection_id":1,"collection_name":"a"},{"collection_id":2,"collection_name":"a","db_name":"default"}]"#;
        assert_eq!(codes(same_name), [ProblemCode::DuplicateCollection]);
        let negative = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[{"partition_id":2,
            "segment_backups":[{"segment_id":3,"num_of_rows":-5}]}]}]"#;
        assert_eq!(codes(negative), [ProblemCode::ImpossibleCount]);
        let moved = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[{"partition_id":2,
            "segment_backups":[{"segment_id":3,"partition_id":9}]}]}]"#;
        assert_eq!(codes(moved), [ProblemCode::IdMismatch]);
        let twice = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[
            {"partition_id":2,"partition_name":"p","segment_backups":[{"segment_id":3}]},
            {"partition_id":4,"partition_name":"q","segment_backups":[{"segment_id":3}]}]}]"#;
        let found = contradictions(&tree(twice));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].code, ProblemCode::DuplicateSegment);
        assert!(
            found[0].message.contains("partition q") && found[0].message.contains("partition p")
        );
        let dup_log = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[{"partition_id":2,
            "segment_backups":[{"segment_id":3,"binlogs":[{"fieldID":100,"binlogs":[{"log_id":7},{"log_id":7}]}]}]}]}]"#;
        assert_eq!(codes(dup_log), [ProblemCode::DuplicateBinlog]);
        let dup_partition = r#"[{"collection_id":1,"collection_name":"a","partition_backups":[
            {"partition_id":2,"partition_name":"p"},{"partition_id":3,"partition_name":"p"}]}]"#;
        assert_eq!(codes(dup_partition), [ProblemCode::DuplicatePartition]);
    }
}
