//! The report a job keeps of its last run: typed and versioned, written when the run ends and
//! read back by `ferry jobs show` (never a `serde_json::Value` indexed by strings).

use ferry_core::migrate::MigrationReport;
use serde::{Deserialize, Serialize};

/// The version [`JobReport::from_migration`] writes.
pub const REPORT_VERSION: u32 = 1;

/// What a job remembers of its last run: per backup, where it landed, whether the copy was
/// verified, and the entities of each collection on both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReport {
    /// The format of this report ([`REPORT_VERSION`]); reports written before versions existed
    /// (the whole migration report) read as version 0.
    #[serde(default)]
    pub version: u32,
    /// One entry per backup of the run.
    #[serde(default)]
    pub backups: Vec<BackupOutcome>,
}

/// One backup of a job's run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupOutcome {
    /// The backup's name (its folder).
    pub name: String,
    /// The backup folder the target reads (`<destination>/<name>/`).
    #[serde(default)]
    pub destination_location: String,
    /// `Some(true)` when verification found no difference and compared everything, `Some(false)`
    /// when it found differences or could not compare everything, `None` when it did not run
    /// (a dry run, `--no-verify`, or a copy that did not finish).
    #[serde(default)]
    pub identical: Option<bool>,
    /// Each collection of the source backup, with its entities on both sides.
    #[serde(default)]
    pub collections: Vec<CollectionEntities>,
}

/// Entities of one collection at the source and at the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionEntities {
    /// Database name.
    pub db: String,
    /// Collection name.
    pub name: String,
    /// Entities the source backup's meta records.
    pub source_entities: i64,
    /// Entities the copy's meta records; `None` when the collection is missing at the target
    /// or the target could not be read.
    pub target_entities: Option<i64>,
}

impl CollectionEntities {
    /// Whether the target holds as many entities as the source.
    pub fn matches(&self) -> bool {
        self.target_entities == Some(self.source_entities)
    }
}

impl JobReport {
    /// The report of a finished migration.
    pub fn from_migration(report: &MigrationReport) -> JobReport {
        let backups = report
            .backups
            .iter()
            .map(|b| BackupOutcome {
                name: b.name.clone(),
                destination_location: b.destination_location.clone(),
                identical: b.verify.as_ref().map(|v| v.identical),
                collections: b
                    .verify
                    .as_ref()
                    .map(|v| {
                        let side = |inventory: &ferry_core::backup::Inventory| {
                            inventory
                                .collections
                                .iter()
                                .map(|c| (c.db.clone(), c.name.clone(), c.entities))
                                .collect::<Vec<_>>()
                        };
                        pair_collections(side(&v.source), &side(&v.target))
                    })
                    .unwrap_or_default(),
            })
            .collect();
        JobReport {
            version: REPORT_VERSION,
            backups,
        }
    }

    /// Reads a stored report: this version, or the whole migration report that jobs stored
    /// before reports had versions (read through [`legacy::MigrationReport`]).
    pub fn parse(text: &str) -> Option<JobReport> {
        let versioned: serde_json::Result<JobReport> = serde_json::from_str(text);
        match versioned {
            Ok(report) if report.version >= 1 => Some(report),
            _ => serde_json::from_str::<legacy::MigrationReport>(text)
                .ok()
                .map(legacy::MigrationReport::into_report),
        }
    }
}

/// Each source collection `(db, name, entities)` with the entities of the same collection (by
/// db and name) at the target, `None` where the target lacks it.
fn pair_collections(
    source: Vec<(String, String, i64)>,
    target: &[(String, String, i64)],
) -> Vec<CollectionEntities> {
    source
        .into_iter()
        .map(|(db, name, source_entities)| {
            let target_entities = target
                .iter()
                .find(|(d, n, _)| *d == db && *n == name)
                .map(|(_, _, e)| *e);
            CollectionEntities {
                db,
                name,
                source_entities,
                target_entities,
            }
        })
        .collect()
}

/// The shape of the reports stored before [`REPORT_VERSION`] 1: the CLI's whole migration
/// report. Only what [`JobReport`] keeps is read.
mod legacy {
    use serde::Deserialize;

    use super::{pair_collections, BackupOutcome, JobReport};

    #[derive(Deserialize)]
    pub struct MigrationReport {
        #[serde(default)]
        backups: Vec<Backup>,
    }

    #[derive(Deserialize)]
    struct Backup {
        name: String,
        #[serde(default)]
        destination_location: String,
        #[serde(default)]
        verify: Option<Verify>,
    }

    #[derive(Deserialize)]
    struct Verify {
        identical: bool,
        source: Inventory,
        target: Inventory,
    }

    #[derive(Deserialize)]
    struct Inventory {
        #[serde(default)]
        collections: Vec<Collection>,
    }

    #[derive(Deserialize)]
    struct Collection {
        db: String,
        name: String,
        entities: i64,
    }

    impl Inventory {
        /// (db, name, entities) of each collection.
        pub fn entities(&self) -> Vec<(String, String, i64)> {
            self.collections
                .iter()
                .map(|c| (c.db.clone(), c.name.clone(), c.entities))
                .collect()
        }
    }

    impl MigrationReport {
        pub fn into_report(self) -> JobReport {
            let backups = self
                .backups
                .into_iter()
                .map(|b| BackupOutcome {
                    name: b.name,
                    destination_location: b.destination_location,
                    identical: b.verify.as_ref().map(|v| v.identical),
                    collections: b
                        .verify
                        .map(|v| pair_collections(v.source.entities(), &v.target.entities()))
                        .unwrap_or_default(),
                })
                .collect();
            JobReport {
                version: 0,
                backups,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_round_trips_and_a_legacy_report_still_reads() {
        let report = JobReport {
            version: REPORT_VERSION,
            backups: vec![BackupOutcome {
                name: "b".into(),
                destination_location: "/dst/b".into(),
                identical: Some(true),
                collections: vec![CollectionEntities {
                    db: "default".into(),
                    name: "docs".into(),
                    source_entities: 3000,
                    target_entities: Some(3000),
                }],
            }],
        };
        let text = serde_json::to_string(&report).unwrap();
        assert_eq!(JobReport::parse(&text), Some(report.clone()));

        let legacy = r#"{"source":"/src","destination":"/dst","dry_run":false,"backups":[{"name":"b",
            "source_location":"/src","destination_location":"/dst/b","plan":{"copy":1},
            "verify":{"identical":true,"differences":[],
              "source":{"collections":[{"db":"default","name":"docs","entities":3000,"partitions":[]}]},
              "target":{"collections":[{"db":"default","name":"docs","entities":3000}]}}}],
            "skipped_incomplete":[]}"#;
        let read = JobReport::parse(legacy).unwrap();
        assert_eq!(read.version, 0);
        assert_eq!(read.backups, report.backups);
        assert!(read.backups[0].collections[0].matches());
        assert_eq!(JobReport::parse("not json"), None);
    }
}
