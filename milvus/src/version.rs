//! Which server versions can restore what: the version a server reports, and the features of a
//! backed-up collection that need a newer server than 2.2 (the first with binlog import). A
//! restore refuses, before creating anything, a backup the server cannot import, naming the
//! feature and the version it needs.

use std::fmt;

use ferry_core::backup::meta::CollectionInfo;
use ferry_core::backup::schema::data_type_name;

/// A Milvus server version (`v2.3.5-lite`, `2.4.13`, `v2.5.0-beta` → 2.3.5, 2.4.13, 2.5.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerVersion {
    /// Major.
    pub major: u32,
    /// Minor.
    pub minor: u32,
    /// Patch.
    pub patch: u32,
}

impl fmt::Display for ServerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl ServerVersion {
    /// A version from its parts.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        ServerVersion {
            major,
            minor,
            patch,
        }
    }

    /// The first `X.Y[.Z]` in what the server said, if any.
    pub fn parse(reported: &str) -> Option<Self> {
        let start = reported.find(|c: char| c.is_ascii_digit())?;
        let numbers: Vec<u32> = reported[start..]
            .split(|c: char| !c.is_ascii_digit() && c != '.')
            .next()?
            .split('.')
            .take(3)
            .map(|n| n.parse().ok())
            .collect::<Option<_>>()?;
        match numbers.as_slice() {
            [major, minor] => Some(Self::new(*major, *minor, 0)),
            [major, minor, patch] => Some(Self::new(*major, *minor, *patch)),
            _ => None,
        }
    }
}

/// The first version that imports binlogs with `backup=true`.
pub const BINLOG_IMPORT: ServerVersion = ServerVersion::new(2, 2, 0);
/// The first version that imports delete-only (L0) segments with `l0_import=true`.
pub const L0_IMPORT: ServerVersion = ServerVersion::new(2, 4, 5);
/// The first version whose import takes partition names with `backup=true` from import v2 on.
pub const IMPORT_V2: ServerVersion = ServerVersion::new(2, 4, 0);

/// A feature of a backed-up collection and the first server version that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requirement {
    /// What needs it, e.g. `collection default.docs: field emb is Float16Vector`.
    pub feature: String,
    /// The first version that has it.
    pub since: ServerVersion,
}

fn data_type_since(code: i32) -> Option<ServerVersion> {
    Some(match code {
        22 => ServerVersion::new(2, 3, 0),                  // Array
        23 => ServerVersion::new(2, 2, 8),                  // JSON
        102..=104 => ServerVersion::new(2, 4, 0),           // Float16, BFloat16, sparse vectors
        24..=26 | 105 | 106 => ServerVersion::new(2, 6, 0), // Geometry, Text, Timestamptz, Int8Vector
        200 | 201 => ServerVersion::new(2, 6, 0),           // struct arrays
        _ => return None,
    })
}

/// Everything in `collection` that needs a server newer than [`BINLOG_IMPORT`].
pub fn requirements(collection: &CollectionInfo) -> Vec<Requirement> {
    let name = format!(
        "collection {}.{}",
        if collection.db_name.is_empty() {
            "default"
        } else {
            &collection.db_name
        },
        collection.collection_name
    );
    let mut out = Vec::new();
    let mut need = |feature: String, since: ServerVersion| {
        out.push(Requirement {
            feature: format!("{name}: {feature}"),
            since,
        })
    };
    if let Some(schema) = &collection.schema {
        for field in &schema.fields {
            if let Some(since) = data_type_since(field.data_type) {
                need(
                    format!(
                        "field {} is {}",
                        field.name,
                        data_type_name(field.data_type)
                    ),
                    since,
                );
            }
            if field.nullable {
                need(
                    format!("field {} is nullable", field.name),
                    ServerVersion::new(2, 5, 0),
                );
            }
            if field.default_value.is_some() {
                need(
                    format!("field {} has a default value", field.name),
                    ServerVersion::new(2, 5, 0),
                );
            }
            if field.is_partition_key {
                need(
                    format!("field {} is a partition key", field.name),
                    ServerVersion::new(2, 2, 9),
                );
            }
            if field.is_clustering_key {
                need(
                    format!("field {} is a clustering key", field.name),
                    ServerVersion::new(2, 4, 6),
                );
            }
        }
        if schema.enable_dynamic_field {
            need("a dynamic field".into(), ServerVersion::new(2, 2, 9));
        }
        if schema.fields.iter().filter(|f| f.is_vector()).count() > 1 {
            need(
                "more than one vector field".into(),
                ServerVersion::new(2, 4, 0),
            );
        }
        if !schema.functions.is_empty() {
            need(
                "functions (BM25, embeddings)".into(),
                ServerVersion::new(2, 5, 0),
            );
        }
    }
    let segments = collection
        .partition_backups
        .iter()
        .flat_map(|p| &p.segment_backups)
        .chain(&collection.l0_segments);
    let mut l0 = 0usize;
    let mut v2 = 0usize;
    for segment in segments {
        l0 += usize::from(segment.is_l0);
        v2 += usize::from(segment.storage_version >= 2);
    }
    if l0 > 0 {
        need(
            format!("{l0} delete-only (L0) segment(s), imported with l0_import"),
            L0_IMPORT,
        );
    }
    if v2 > 0 {
        need(
            format!("{v2} segment(s) in storage format v2"),
            ServerVersion::new(2, 6, 0),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_servers_report() {
        assert_eq!(
            ServerVersion::parse("v2.3.5-lite"),
            Some(ServerVersion::new(2, 3, 5))
        );
        assert_eq!(
            ServerVersion::parse("2.4.13-hotfix"),
            Some(ServerVersion::new(2, 4, 13))
        );
        assert_eq!(
            ServerVersion::parse("v2.6"),
            Some(ServerVersion::new(2, 6, 0))
        );
        assert_eq!(ServerVersion::parse("unknown"), None);
        assert!(ServerVersion::new(2, 4, 5) > ServerVersion::new(2, 4, 4));
    }

    #[test]
    fn l0_segments_need_2_4_5() {
        let json = r#"{"collection_name":"c","l0_segments":[{"segment_id":1,"is_l0":true}],
            "schema":{"fields":[{"name":"e","data_type":"Float16Vector"}]}}"#;
        let c: CollectionInfo = serde_json::from_str(json).unwrap();
        let reqs = requirements(&c);
        assert!(reqs
            .iter()
            .any(|r| r.since == L0_IMPORT && r.feature.contains("L0")));
        assert!(
            reqs.iter()
                .any(|r| r.feature.contains("Float16Vector")
                    && r.since == ServerVersion::new(2, 4, 0))
        );
    }
}
