//! Proving in the cluster that a restore brought what the backup holds: per collection, its
//! name, its schema (fields, types, primary key, dimensions; the dynamic field by its flag, since
//! some servers do not list `$meta`), its partitions, the rows the server's statistics count and
//! — when the collection is loaded — `count(*)`, each against inserted rows minus the rows the
//! backup's own delete records remove.

use serde::Serialize;

use crate::client::MilvusClient;
use crate::error::Result;
use crate::plan::CollectionPlan;

/// One partition compared.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PartitionCheck {
    /// Partition name.
    pub name: String,
    /// Rows inserted in the backup.
    pub inserted: u64,
    /// Delete records in the backup.
    pub delete_records: u64,
    /// Rows the partition must hold.
    pub expected: u64,
    /// Rows the server's statistics count (`None`: the partition is missing).
    pub statistics: Option<u64>,
}

/// One collection compared.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectionCheck {
    /// `db.name` in the backup.
    pub source: String,
    /// `db.name` in the cluster.
    pub target: String,
    /// Rows the collection must hold.
    pub expected: u64,
    /// How exact `expected` is.
    pub expectation: &'static str,
    /// Rows the server's statistics count (`None`: the collection is missing).
    pub statistics: Option<u64>,
    /// `count(*)`, when the collection is loaded.
    pub count: Option<u64>,
    /// Partitions.
    pub partitions: Vec<PartitionCheck>,
    /// Every difference found, in words; empty: the collection matches.
    pub differences: Vec<String>,
}

impl CollectionCheck {
    /// Whether the cluster holds what the backup says.
    pub fn matches(&self) -> bool {
        self.differences.is_empty()
    }
}

/// What verification is part of: a restore just run (whose storage may be the cause of a
/// mismatch) or a check on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckContext {
    /// Right after this run's imports.
    AfterRestore,
    /// `ferry verify` against a cluster.
    Standalone,
}

/// Compares one collection of the cluster with its plan.
pub async fn check_collection(
    client: &MilvusClient,
    plan: &CollectionPlan,
    context: CheckContext,
) -> Result<CollectionCheck> {
    let (db, name) = (&plan.target.0, &plan.target.1);
    let mut check = CollectionCheck {
        source: format!("{}.{}", plan.source.0, plan.source.1),
        target: plan.target_name(),
        expected: plan.expected_rows(),
        expectation: "exact: inserted rows minus the backup's delete records",
        statistics: None,
        count: None,
        partitions: Vec::new(),
        differences: Vec::new(),
    };
    if !client.has_collection(db, name).await? {
        check.differences.push(format!(
            "collection {} does not exist in the cluster",
            plan.target_name()
        ));
        return Ok(check);
    }
    let described = client.describe_collection(db, name).await?;
    if let (Some(backed_up), Some(actual)) = (&plan.info.schema, &described.schema) {
        for field in backed_up.created_fields() {
            let Some(got) = actual.fields.iter().find(|f| f.name == field.name) else {
                check
                    .differences
                    .push(format!("field {} is missing", field.name));
                continue;
            };
            if got.data_type != field.data_type {
                check.differences.push(format!(
                    "field {}: type {} in the cluster, {} in the backup",
                    field.name,
                    ferry_core::backup::schema::data_type_name(got.data_type),
                    ferry_core::backup::schema::data_type_name(field.data_type)
                ));
            }
            if got.is_primary_key != field.is_primary_key {
                check
                    .differences
                    .push(format!("field {}: primary key differs", field.name));
            }
            let dim = got
                .type_params
                .iter()
                .find(|kv| kv.key == "dim")
                .map(|kv| kv.value.as_str());
            if field.type_param("dim").is_some() && dim != field.type_param("dim") {
                check.differences.push(format!(
                    "field {}: dim {} in the cluster, {} in the backup",
                    field.name,
                    dim.unwrap_or("none"),
                    field.type_param("dim").unwrap_or("none")
                ));
            }
        }
        if actual.enable_dynamic_field != backed_up.enable_dynamic_field {
            check.differences.push(format!(
                "dynamic field {} in the cluster, {} in the backup",
                if actual.enable_dynamic_field {
                    "enabled"
                } else {
                    "disabled"
                },
                if backed_up.enable_dynamic_field {
                    "enabled"
                } else {
                    "disabled"
                }
            ));
        }
    }
    let partitions = client.show_partitions(db, name).await?;
    for (partition, expectation) in &plan.partitions {
        let statistics = if partitions.contains(partition) {
            Some(client.partition_rows(db, name, partition).await?)
        } else {
            check.differences.push(format!(
                "partition {partition} does not exist in the cluster"
            ));
            None
        };
        if let Some(rows) = statistics {
            if rows != expectation.expected() {
                check.differences.push(explain(
                    &format!("partition {partition}"),
                    rows,
                    expectation.inserted,
                    expectation.delete_records,
                    context,
                ));
            }
        }
        check.partitions.push(PartitionCheck {
            name: partition.clone(),
            inserted: expectation.inserted,
            delete_records: expectation.delete_records,
            expected: expectation.expected(),
            statistics,
        });
    }
    let rows = client.collection_rows(db, name).await?;
    check.statistics = Some(rows);
    let inserted: u64 = plan.partitions.values().map(|p| p.inserted).sum();
    let deletes: u64 = plan.partitions.values().map(|p| p.delete_records).sum();
    if rows != check.expected {
        check.differences.push(explain(
            "the collection's statistics",
            rows,
            inserted,
            deletes,
            context,
        ));
    }
    if client.is_loaded(db, name).await? {
        let count = client.count(db, name, &[]).await?;
        check.count = Some(count);
        if count != check.expected {
            check
                .differences
                .push(explain("count(*)", count, inserted, deletes, context));
        }
    }
    Ok(check)
}

/// A mismatch in words, with its most likely cause.
fn explain(what: &str, got: u64, inserted: u64, deletes: u64, context: CheckContext) -> String {
    let expected = inserted.saturating_sub(deletes);
    let cause = if got == 0 && expected > 0 {
        match context {
            CheckContext::AfterRestore => {
                " — the server read no binlogs: is --milvus-storage the storage this Milvus reads, \
                 and --milvus-storage-path the path under which the server sees it?"
            }
            CheckContext::Standalone => " — the collection is empty",
        }
    } else if got == inserted && deletes > 0 {
        " — the backup's deletes were not applied (its delete records were not imported)"
    } else if got > inserted {
        " — more rows than the backup holds: data imported twice?"
    } else {
        ""
    };
    format!("{what}: {got} rows in the cluster, {expected} expected ({inserted} inserted − {deletes} deleted){cause}")
}
