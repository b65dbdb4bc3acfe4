//! Indexes after the data: as backed up (`index_infos`), `AUTOINDEX` with the backed-up metric
//! (what Zilliz Cloud builds after a migration), or none; then, when asked, load and wait.

use std::time::{Duration, Instant};

use ferry_core::backup::schema::FieldSchema;
use serde::Serialize;

use crate::client::MilvusClient;
use crate::error::{MilvusError, Result};
use crate::plan::CollectionPlan;

/// Which indexes a restore builds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IndexMode {
    /// The backed-up indexes, with their parameters.
    #[default]
    Backup,
    /// `AUTOINDEX` on every vector field, with the backed-up metric (or a default, said so).
    Auto,
    /// No index.
    None,
}

/// One index built.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BuiltIndex {
    /// Field.
    pub field: String,
    /// Index name.
    pub name: String,
    /// Index type sent.
    pub index_type: String,
    /// Metric sent, if any.
    pub metric: Option<String>,
    /// Why this metric, when Ferry chose it (no backed-up index on the field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The metric Milvus defaults to for a vector type.
fn default_metric(field: &FieldSchema) -> &'static str {
    match field.data_type {
        100 => "HAMMING",
        104 => "IP",
        _ => "COSINE",
    }
}

/// The indexes `mode` asks for on `plan`'s collection, without building them.
pub fn wanted(plan: &CollectionPlan, mode: IndexMode) -> Vec<(BuiltIndex, Vec<(String, String)>)> {
    let info = &plan.info;
    match mode {
        IndexMode::None => Vec::new(),
        IndexMode::Backup => info
            .index_infos
            .iter()
            .map(|i| {
                let mut params: Vec<(String, String)> = i
                    .params
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let index_type = if i.index_type.is_empty() {
                    i.params.get("index_type").cloned().unwrap_or_default()
                } else {
                    i.index_type.clone()
                };
                if !params.iter().any(|(k, _)| k == "index_type") && !index_type.is_empty() {
                    params.push(("index_type".into(), index_type.clone()));
                }
                (
                    BuiltIndex {
                        field: i.field_name.clone(),
                        name: i.index_name.clone(),
                        index_type,
                        metric: i.metric().map(str::to_string),
                        note: None,
                    },
                    params,
                )
            })
            .collect(),
        IndexMode::Auto => {
            let Some(schema) = &info.schema else {
                return Vec::new();
            };
            schema
                .fields
                .iter()
                .filter(|f| f.is_vector())
                .map(|f| {
                    let backed_up = info.index_infos.iter().find(|i| i.field_name == f.name);
                    let (metric, note) = match backed_up.and_then(|i| i.metric()) {
                        Some(m) => (m.to_string(), None),
                        None => (
                            default_metric(f).to_string(),
                            Some(format!(
                                "the backup holds no index for {}: metric {} chosen (Milvus's default for its type)",
                                f.name,
                                default_metric(f)
                            )),
                        ),
                    };
                    let name = backed_up.map(|i| i.index_name.clone()).unwrap_or_default();
                    (
                        BuiltIndex {
                            field: f.name.clone(),
                            name,
                            index_type: "AUTOINDEX".into(),
                            metric: Some(metric.clone()),
                            note,
                        },
                        vec![
                            ("index_type".into(), "AUTOINDEX".into()),
                            ("metric_type".into(), metric),
                        ],
                    )
                })
                .collect()
        }
    }
}

/// Builds the indexes `mode` asks for.
pub async fn build(
    client: &MilvusClient,
    plan: &CollectionPlan,
    mode: IndexMode,
) -> Result<Vec<BuiltIndex>> {
    let (db, name) = (&plan.target.0, &plan.target.1);
    let mut built = Vec::new();
    for (index, params) in wanted(plan, mode) {
        client
            .create_index(db, name, &index.field, &index.name, &params)
            .await?;
        built.push(index);
    }
    Ok(built)
}

/// Loads the collection and waits until it is loaded (or `timeout` passes). A collection whose
/// vector fields are not all indexed cannot load: that is said before asking the server.
pub async fn load(
    client: &MilvusClient,
    plan: &CollectionPlan,
    built: &[BuiltIndex],
    timeout: Duration,
) -> Result<()> {
    let (db, name) = (&plan.target.0, &plan.target.1);
    let indexed: Vec<String> = client
        .describe_indexes(db, name)
        .await?
        .into_iter()
        .map(|d| d.field_name)
        .chain(built.iter().map(|b| b.field.clone()))
        .collect();
    if let Some(schema) = &plan.info.schema {
        let missing: Vec<&str> = schema
            .fields
            .iter()
            .filter(|f| f.is_vector() && !indexed.contains(&f.name))
            .map(|f| f.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(MilvusError::InvalidInput(format!(
                "{}: cannot load: vector field(s) {} have no index (the backup holds none for them); \
                 add --index auto to build AUTOINDEX, or leave out --load",
                plan.target_name(),
                missing.join(", ")
            )));
        }
    }
    client.load_collection(db, name).await?;
    let start = Instant::now();
    loop {
        if client.loading_progress(db, name).await? >= 100 {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(MilvusError::Verification(format!(
                "{}: not loaded after {} s",
                plan.target_name(),
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
