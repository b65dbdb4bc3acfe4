//! A thin client over the raw `MilvusService` gRPC API of the official SDK (`milvus-sdk-rust`'s
//! generated stubs): one method per call Ferry makes, every answer's status checked, every
//! failure turned into a [`MilvusError`] that names the call and its subject. The raw stubs are
//! used throughout (not the SDK's high-level client) because the restore needs `Import`,
//! `GetImportState` and `ListImportTasks`, which the high-level client lacks, and because one
//! message set sent the same way to every server from 2.2 to 2.6 is easier to reason about:
//! proto3 servers ignore the fields they do not know, which is why features newer than the
//! server are refused up front ([`crate::version`]) rather than sent and lost.

use std::time::Duration;

use milvus::proto::common::{KeyValuePair, MsgBase, MsgType, Status};
use milvus::proto::milvus as api;
use milvus::proto::milvus::milvus_service_client::MilvusServiceClient;
use milvus::proto::schema::{field_data, scalar_field, CollectionSchema};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use crate::endpoint::{ClusterUrl, Credentials};
use crate::error::{MilvusError, Result};

/// Largest answer accepted (describe and query answers of wide collections are large).
const MAX_MESSAGE: usize = 256 * 1024 * 1024;

/// Adds the credentials and the database to every request, as Milvus reads them from metadata.
#[derive(Clone)]
struct Metadata {
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
    database: MetadataValue<tonic::metadata::Ascii>,
}

impl tonic::service::Interceptor for Metadata {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let md = request.metadata_mut();
        if let Some(auth) = &self.authorization {
            md.insert("authorization", auth.clone());
        }
        md.insert("dbname", self.database.clone());
        Ok(request)
    }
}

type Raw = MilvusServiceClient<InterceptedService<Channel, Metadata>>;

/// One import task's state as the server reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportTaskState {
    /// Task id.
    pub id: i64,
    /// `Pending`, `Started`, `Persisted`, `Flushed`, `Completed`, `Failed`, … .
    pub state: ImportStatus,
    /// Rows the server says it imported (parsed, while running).
    pub row_count: i64,
    /// Files the task was given, as the server lists them.
    pub files: Vec<String>,
    /// Milvus's `failed_reason`, when it failed.
    pub failed_reason: String,
    /// The collection, as the server names it.
    pub collection: String,
}

/// Where an import task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStatus {
    /// Queued or running.
    Running,
    /// Done; its rows are in the collection.
    Completed,
    /// Failed (see the reason).
    Failed,
}

/// A connected client. Each call carries the database it is about in its metadata (and in its
/// request, where the request has the field).
#[derive(Clone)]
pub struct MilvusClient {
    channel: Channel,
    authorization: Option<MetadataValue<tonic::metadata::Ascii>>,
    url: ClusterUrl,
}

fn base(msg_type: MsgType) -> Option<MsgBase> {
    Some(MsgBase::new(msg_type))
}

fn kv(key: &str, value: impl Into<String>) -> KeyValuePair {
    KeyValuePair {
        key: key.to_string(),
        value: value.into(),
    }
}

impl MilvusClient {
    /// Connects to `url` as `credentials`, using `url`'s database for every call.
    pub async fn connect(url: &ClusterUrl, credentials: &Credentials) -> Result<Self> {
        let unreachable = |detail: String| MilvusError::Unreachable {
            endpoint: url.endpoint(),
            detail,
        };
        let mut endpoint = Endpoint::from_shared(url.grpc_uri())
            .map_err(|e| MilvusError::InvalidInput(format!("{url}: {e}")))?
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .tcp_nodelay(true);
        if url.tls {
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().with_native_roots())
                .map_err(|e| unreachable(format!("TLS set-up: {e}")))?;
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| unreachable(error_chain(&e)))?;
        // Milvus reads the bare base64 of `user:password` (or of the token).
        let authorization = credentials
            .authorization()
            .map(|a| a.parse())
            .transpose()
            .map_err(|_| {
                MilvusError::InvalidInput("the credentials cannot be sent as a gRPC header".into())
            })?;
        Ok(MilvusClient {
            channel,
            authorization,
            url: url.clone(),
        })
    }

    /// The raw stub for calls about database `db`.
    fn raw(&self, db: &str) -> Raw {
        let database = db
            .parse()
            .unwrap_or_else(|_| MetadataValue::from_static("default"));
        MilvusServiceClient::with_interceptor(
            self.channel.clone(),
            Metadata {
                authorization: self.authorization.clone(),
                database,
            },
        )
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
    }

    /// The URL this client talks to.
    pub fn url(&self) -> &ClusterUrl {
        &self.url
    }

    fn rpc_error(&self, call: &str, status: tonic::Status) -> MilvusError {
        match status.code() {
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                MilvusError::Unauthenticated {
                    endpoint: self.url.endpoint(),
                    detail: status.message().to_string(),
                }
            }
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => MilvusError::Unreachable {
                endpoint: self.url.endpoint(),
                detail: format!("{call}: {}", status.message()),
            },
            code => MilvusError::Server {
                call: call.to_string(),
                code: code as i32,
                reason: status.message().to_string(),
                retriable: false,
            },
        }
    }

    // `error_code` is deprecated in the proto, but 2.2 servers set only it.
    #[allow(deprecated)]
    fn status(&self, call: &str, status: Option<Status>) -> Result<()> {
        let Some(status) = status else {
            return Ok(());
        };
        if status.error_code == 0 && status.code == 0 {
            return Ok(());
        }
        let code = if status.code != 0 {
            status.code
        } else {
            status.error_code
        };
        // Milvus answers a bad password with a status (code 1800 / legacy AuthenticationFailed
        // 25) on some versions and with gRPC UNAUTHENTICATED on others.
        if code == 1800 || status.error_code == 25 {
            return Err(MilvusError::Unauthenticated {
                endpoint: self.url.endpoint(),
                detail: status.reason,
            });
        }
        Err(MilvusError::Server {
            call: call.to_string(),
            code,
            reason: status.reason,
            retriable: status.retriable,
        })
    }

    /// `GetVersion`: the version string the server reports (`v2.3.5-lite`, …). Also the first
    /// call, so it is where wrong credentials show.
    pub async fn version(&self) -> Result<String> {
        let reply = self
            .raw("default")
            .get_version(api::GetVersionRequest {})
            .await
            .map_err(|e| self.rpc_error("GetVersion", e))?
            .into_inner();
        self.status("GetVersion", reply.status)?;
        // GetVersion is answered whatever the credentials; ShowCollections of the default
        // database (every version has it; the URL's may not exist yet) proves them.
        self.show_collections_of("default").await?;
        Ok(reply.version)
    }

    /// `ListDatabases` (Milvus 2.2.9+; older servers have only `default`).
    pub async fn list_databases(&self) -> Result<Vec<String>> {
        let reply = self
            .raw("default")
            .list_databases(api::ListDatabasesRequest {
                base: base(MsgType::ListDatabases),
            })
            .await
            .map_err(|e| self.rpc_error("ListDatabases", e))?
            .into_inner();
        self.status("ListDatabases", reply.status)?;
        Ok(reply.db_names)
    }

    /// `CreateDatabase`.
    pub async fn create_database(&self, name: &str) -> Result<()> {
        let reply = self
            .raw("default")
            .create_database(api::CreateDatabaseRequest {
                base: base(MsgType::CreateDatabase),
                db_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("CreateDatabase", e))?
            .into_inner();
        self.status(&format!("CreateDatabase {name}"), Some(reply))
    }

    /// `ShowCollections` of this client's database.
    pub async fn show_collections(&self) -> Result<Vec<String>> {
        self.show_collections_of(self.url.database()).await
    }

    /// `ShowCollections` of database `db`.
    pub async fn show_collections_of(&self, db: &str) -> Result<Vec<String>> {
        let reply = self
            .raw(db)
            .show_collections(api::ShowCollectionsRequest {
                base: base(MsgType::ShowCollections),
                db_name: db.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("ShowCollections", e))?
            .into_inner();
        self.status("ShowCollections", reply.status)?;
        Ok(reply.collection_names)
    }

    /// `HasCollection`.
    pub async fn has_collection(&self, db: &str, name: &str) -> Result<bool> {
        let reply = self
            .raw(db)
            .has_collection(api::HasCollectionRequest {
                base: base(MsgType::HasCollection),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("HasCollection", e))?
            .into_inner();
        self.status(&format!("HasCollection {db}.{name}"), reply.status)?;
        Ok(reply.value)
    }

    /// `DropCollection`.
    pub async fn drop_collection(&self, db: &str, name: &str) -> Result<()> {
        let reply = self
            .raw(db)
            .drop_collection(api::DropCollectionRequest {
                base: base(MsgType::DropCollection),
                db_name: db.to_string(),
                collection_name: name.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("DropCollection", e))?
            .into_inner();
        self.status(&format!("DropCollection {db}.{name}"), Some(reply))
    }

    /// `CreateCollection` with `schema`.
    pub async fn create_collection(
        &self,
        db: &str,
        schema: &CollectionSchema,
        shards: i32,
        consistency_level: i32,
        properties: Vec<KeyValuePair>,
        num_partitions: i64,
    ) -> Result<()> {
        let reply = self
            .raw(db)
            .create_collection(api::CreateCollectionRequest {
                base: base(MsgType::CreateCollection),
                db_name: db.to_string(),
                collection_name: schema.name.clone(),
                schema: schema.encode_to_vec(),
                shards_num: shards,
                consistency_level,
                properties,
                num_partitions,
            })
            .await
            .map_err(|e| self.rpc_error("CreateCollection", e))?
            .into_inner();
        self.status(
            &format!("CreateCollection {db}.{}", schema.name),
            Some(reply),
        )
    }

    /// `DescribeCollection`.
    pub async fn describe_collection(
        &self,
        db: &str,
        name: &str,
    ) -> Result<api::DescribeCollectionResponse> {
        let reply = self
            .raw(db)
            .describe_collection(api::DescribeCollectionRequest {
                base: base(MsgType::DescribeCollection),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("DescribeCollection", e))?
            .into_inner();
        self.status(
            &format!("DescribeCollection {db}.{name}"),
            reply.status.clone(),
        )?;
        Ok(reply)
    }

    /// `ShowPartitions`: names.
    pub async fn show_partitions(&self, db: &str, name: &str) -> Result<Vec<String>> {
        let reply = self
            .raw(db)
            .show_partitions(api::ShowPartitionsRequest {
                base: base(MsgType::ShowPartitions),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("ShowPartitions", e))?
            .into_inner();
        self.status(&format!("ShowPartitions {db}.{name}"), reply.status)?;
        Ok(reply.partition_names)
    }

    /// `CreatePartition`.
    pub async fn create_partition(&self, db: &str, name: &str, partition: &str) -> Result<()> {
        let reply = self
            .raw(db)
            .create_partition(api::CreatePartitionRequest {
                base: base(MsgType::CreatePartition),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                partition_name: partition.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("CreatePartition", e))?
            .into_inner();
        self.status(
            &format!("CreatePartition {db}.{name}/{partition}"),
            Some(reply),
        )
    }

    /// `Import` of binlog folders with `options`; returns the task ids.
    pub async fn import(
        &self,
        db: &str,
        name: &str,
        partition: &str,
        files: Vec<String>,
        options: &[(&str, String)],
    ) -> Result<Vec<i64>> {
        let reply = self
            .raw(db)
            .import(api::ImportRequest {
                collection_name: name.to_string(),
                partition_name: partition.to_string(),
                files,
                options: options.iter().map(|(k, v)| kv(k, v.clone())).collect(),
                db_name: db.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("Import", e))?
            .into_inner();
        self.status(
            &format!("Import into {db}.{name}/{partition}"),
            reply.status,
        )?;
        Ok(reply.tasks)
    }

    fn task_state(reply: api::GetImportStateResponse) -> ImportTaskState {
        use milvus::proto::common::ImportState;
        let info = |key: &str| {
            reply
                .infos
                .iter()
                .find(|kv| kv.key == key)
                .map(|kv| kv.value.clone())
                .unwrap_or_default()
        };
        let state = match ImportState::try_from(reply.state) {
            Ok(ImportState::ImportCompleted) => ImportStatus::Completed,
            Ok(ImportState::ImportFailed | ImportState::ImportFailedAndCleaned) => {
                ImportStatus::Failed
            }
            _ => ImportStatus::Running,
        };
        let files = info("files")
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect();
        ImportTaskState {
            id: reply.id,
            state,
            row_count: reply.row_count,
            files,
            failed_reason: info("failed_reason"),
            collection: info("collection"),
        }
    }

    /// `GetImportState` of one task.
    pub async fn import_state(&self, task: i64) -> Result<ImportTaskState> {
        let reply = self
            .raw(self.url.database())
            .get_import_state(api::GetImportStateRequest { task })
            .await
            .map_err(|e| self.rpc_error("GetImportState", e))?
            .into_inner();
        self.status(&format!("GetImportState {task}"), reply.status.clone())?;
        let mut state = Self::task_state(reply);
        state.id = task;
        Ok(state)
    }

    /// `ListImportTasks` of a collection (every task the server still remembers).
    pub async fn list_import_tasks(&self, db: &str, name: &str) -> Result<Vec<ImportTaskState>> {
        let reply = self
            .raw(db)
            .list_import_tasks(api::ListImportTasksRequest {
                collection_name: name.to_string(),
                limit: 0,
                db_name: db.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("ListImportTasks", e))?
            .into_inner();
        self.status(&format!("ListImportTasks {db}.{name}"), reply.status)?;
        Ok(reply.tasks.into_iter().map(Self::task_state).collect())
    }

    /// `Flush` of one collection (so statistics count imported segments).
    pub async fn flush(&self, db: &str, name: &str) -> Result<()> {
        let reply = self
            .raw(db)
            .flush(api::FlushRequest {
                base: base(MsgType::Flush),
                db_name: db.to_string(),
                collection_names: vec![name.to_string()],
            })
            .await
            .map_err(|e| self.rpc_error("Flush", e))?
            .into_inner();
        self.status(&format!("Flush {db}.{name}"), reply.status)
    }

    /// `CreateIndex` on `field` with `params` (`index_type`, `metric_type`, `params`).
    pub async fn create_index(
        &self,
        db: &str,
        name: &str,
        field: &str,
        index_name: &str,
        params: &[(String, String)],
    ) -> Result<()> {
        let reply = self
            .raw(db)
            .create_index(api::CreateIndexRequest {
                base: base(MsgType::CreateIndex),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                field_name: field.to_string(),
                extra_params: params.iter().map(|(k, v)| kv(k, v.clone())).collect(),
                index_name: index_name.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("CreateIndex", e))?
            .into_inner();
        self.status(&format!("CreateIndex {db}.{name}.{field}"), Some(reply))
    }

    /// `DescribeIndex` of every index of a collection (empty when it has none).
    pub async fn describe_indexes(
        &self,
        db: &str,
        name: &str,
    ) -> Result<Vec<api::IndexDescription>> {
        let reply = self
            .raw(db)
            .describe_index(api::DescribeIndexRequest {
                base: base(MsgType::DescribeIndex),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("DescribeIndex", e))?
            .into_inner();
        match self.status(&format!("DescribeIndex {db}.{name}"), reply.status) {
            Ok(()) => Ok(reply.index_descriptions),
            // "index not found" (legacy IndexNotExist 25 / code 700).
            Err(MilvusError::Server { code, .. }) if code == 700 || code == 25 => Ok(Vec::new()),
            Err(MilvusError::Server { reason, .. }) if reason.contains("index not found") => {
                Ok(Vec::new())
            }
            Err(e) => Err(e),
        }
    }

    /// `LoadCollection`.
    pub async fn load_collection(&self, db: &str, name: &str) -> Result<()> {
        let reply = self
            .raw(db)
            .load_collection(api::LoadCollectionRequest {
                base: base(MsgType::LoadCollection),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("LoadCollection", e))?
            .into_inner();
        self.status(&format!("LoadCollection {db}.{name}"), Some(reply))
    }

    /// `GetLoadingProgress`: percent loaded.
    pub async fn loading_progress(&self, db: &str, name: &str) -> Result<i64> {
        let reply = self
            .raw(db)
            .get_loading_progress(api::GetLoadingProgressRequest {
                base: base(MsgType::LoadCollection),
                collection_name: name.to_string(),
                db_name: db.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("GetLoadingProgress", e))?
            .into_inner();
        self.status(&format!("GetLoadingProgress {db}.{name}"), reply.status)?;
        Ok(reply.progress)
    }

    /// `GetLoadState`: whether the collection is loaded.
    pub async fn is_loaded(&self, db: &str, name: &str) -> Result<bool> {
        let reply = self
            .raw(db)
            .get_load_state(api::GetLoadStateRequest {
                base: base(MsgType::LoadCollection),
                collection_name: name.to_string(),
                db_name: db.to_string(),
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("GetLoadState", e))?
            .into_inner();
        self.status(&format!("GetLoadState {db}.{name}"), reply.status)?;
        Ok(reply.state == milvus::proto::common::LoadState::Loaded as i32)
    }

    fn row_count(stats: &[KeyValuePair], call: &str) -> Result<u64> {
        stats
            .iter()
            .find(|kv| kv.key == "row_count")
            .and_then(|kv| kv.value.parse().ok())
            .ok_or_else(|| MilvusError::Server {
                call: call.to_string(),
                code: 0,
                reason: "the answer holds no row_count".into(),
                retriable: false,
            })
    }

    /// `GetCollectionStatistics`: the row count the server's statistics hold (rows imported,
    /// deletes not subtracted on every version).
    pub async fn collection_rows(&self, db: &str, name: &str) -> Result<u64> {
        let call = format!("GetCollectionStatistics {db}.{name}");
        let reply = self
            .raw(db)
            .get_collection_statistics(api::GetCollectionStatisticsRequest {
                base: base(MsgType::GetCollectionStatistics),
                db_name: db.to_string(),
                collection_name: name.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("GetCollectionStatistics", e))?
            .into_inner();
        self.status(&call, reply.status)?;
        Self::row_count(&reply.stats, &call)
    }

    /// `GetPartitionStatistics`: a partition's row count.
    pub async fn partition_rows(&self, db: &str, name: &str, partition: &str) -> Result<u64> {
        let call = format!("GetPartitionStatistics {db}.{name}/{partition}");
        let reply = self
            .raw(db)
            .get_partition_statistics(api::GetPartitionStatisticsRequest {
                base: base(MsgType::GetPartitionStatistics),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                partition_name: partition.to_string(),
            })
            .await
            .map_err(|e| self.rpc_error("GetPartitionStatistics", e))?
            .into_inner();
        self.status(&call, reply.status)?;
        Self::row_count(&reply.stats, &call)
    }

    /// `Query` of `count(*)` (a loaded collection; deletes applied), optionally of partitions.
    pub async fn count(&self, db: &str, name: &str, partitions: &[String]) -> Result<u64> {
        let call = format!("Query count(*) {db}.{name}");
        let reply = self
            .raw(db)
            .query(api::QueryRequest {
                base: base(MsgType::Retrieve),
                db_name: db.to_string(),
                collection_name: name.to_string(),
                expr: String::new(),
                output_fields: vec!["count(*)".to_string()],
                partition_names: partitions.to_vec(),
                // Strong: every imported row is visible to the count.
                consistency_level: 0,
                ..Default::default()
            })
            .await
            .map_err(|e| self.rpc_error("Query", e))?
            .into_inner();
        self.status(&call, reply.status)?;
        reply
            .fields_data
            .iter()
            .find_map(|f| match &f.field {
                Some(field_data::Field::Scalars(s)) => match &s.data {
                    Some(scalar_field::Data::LongData(l)) => l.data.first().copied(),
                    _ => None,
                },
                _ => None,
            })
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| MilvusError::Server {
                call,
                code: 0,
                reason: "the answer holds no count".into(),
                retriable: false,
            })
    }
}

/// A transport error with its causes, which tonic's `Display` leaves out.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
