//! Reading milvus-backup's own configuration (`configs/backup.yaml`, v1 and v2 schemas) to find
//! where its backups are stored and with which credentials (format notes §3).
//!
//! Keys are matched case-insensitively, as milvus-backup's configuration library does. v1:
//! `minio.backup*` keys fall back to the primary `minio.*` keys, `backupRootPath` to `rootPath`
//! then `backup`. v2 (`configVersion: v2`): `backup.storage.*` inherits every key of
//! `milvus.storage.*` except `rootPath` (default `backup`).

use std::path::Path;

use serde_yaml_ng::Value;

use crate::error::{Error, Result};
use crate::location::{normalise_prefix, Location};
use crate::redact::Secret;

/// Which schema the file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigVersion {
    /// v0.4.x – v0.5.x (`minio.*`).
    V1,
    /// HEAD (`configVersion: v2`, `backup.storage.*`).
    V2,
}

/// Where milvus-backup keeps its backups, as its configuration says.
#[derive(Clone, PartialEq, Eq)]
pub struct BackupStorage {
    /// Schema of the file.
    pub version: ConfigVersion,
    /// Storage type / provider, lower-cased (`minio`, `s3`, `aws`, `gcp`, `gcpnative`, `azure`, `local`…).
    pub provider: String,
    /// Address (host) without scheme.
    pub address: String,
    /// Port, when given.
    pub port: Option<u16>,
    /// https when true.
    pub use_ssl: bool,
    /// Region.
    pub region: Option<String>,
    /// Bucket (container for Azure).
    pub bucket: String,
    /// Root path of the backups inside the bucket.
    pub root_path: String,
    /// Access key id (Azure v1: the account name).
    pub access_key_id: Option<String>,
    /// Secret access key (Azure v1: the account key).
    pub secret_access_key: Option<Secret>,
    /// Session token.
    pub token: Option<Secret>,
    /// Azure account name (v2).
    pub account_name: Option<String>,
    /// Azure account key (v2).
    pub account_key: Option<Secret>,
    /// GCP service-account JSON file.
    pub credentials_file: Option<String>,
    /// Use the cloud's ambient identity (IAM role, managed identity) instead of keys.
    pub use_iam: bool,
}

impl std::fmt::Debug for BackupStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupStorage")
            .field("version", &self.version)
            .field("provider", &self.provider)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("use_ssl", &self.use_ssl)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("root_path", &self.root_path)
            .field("use_iam", &self.use_iam)
            .finish_non_exhaustive()
    }
}

/// Looks `path` (dot-separated) up in a YAML document, keys case-insensitively.
fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let mut node = doc;
    for part in path.split('.') {
        let map = node.as_mapping()?;
        node = map.iter().find_map(|(k, v)| {
            k.as_str()
                .filter(|k| k.eq_ignore_ascii_case(part))
                .map(|_| v)
        })?;
    }
    Some(node)
}

/// A scalar as text (numbers and booleans too); `None` for missing, null or empty values.
fn text(doc: &Value, path: &str) -> Option<String> {
    let v = lookup(doc, path)?;
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!s.trim().is_empty()).then(|| s.trim().to_string())
}

fn first(doc: &Value, paths: &[&str]) -> Option<String> {
    paths.iter().find_map(|p| text(doc, p))
}

fn boolean(value: Option<String>) -> bool {
    value.is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes" | "on"))
}

fn port(value: Option<String>, file: &str) -> Result<Option<u16>> {
    value
        .map(|p| {
            p.parse::<u16>().map_err(|_| {
                Error::invalid_input(format!("{file}: port {p:?} is not a port number"))
            })
        })
        .transpose()
}

/// Reads a YAML configuration file of at most 16 MiB; `what` names it in errors.
fn read_yaml(path: &Path, what: &str) -> Result<Value> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path)
        .map_err(|e| Error::from_io(e, format!("opening the {what} {shown}")))?;
    let meta = file
        .metadata()
        .map_err(|e| Error::from_io(e, format!("reading {shown}")))?;
    if meta.len() > 16 * 1024 * 1024 {
        return Err(Error::invalid_input(format!(
            "{shown} is {} bytes: not a {what}",
            meta.len()
        )));
    }
    serde_yaml_ng::from_reader(file).map_err(|e| {
        Error::invalid_input(format!("{shown} is not valid YAML: {e}"))
            .with_hint(format!("give the {what}"))
    })
}

/// Parses the milvus-backup configuration at `path`.
pub fn read_backup_storage(path: &Path) -> Result<BackupStorage> {
    let doc = read_yaml(path, "milvus-backup configuration (backup.yaml)")?;
    parse_backup_storage(&doc, &path.display().to_string())
}

/// Where a Milvus server keeps its data, as its `milvus.yaml` says: the location Ferry writes
/// to, and the name the server itself gives it (for import requests).
#[derive(Clone)]
pub struct MilvusServerStorage {
    /// Where Ferry reaches the storage (credentials attached as secrets).
    pub location: Location,
    /// How the server names that location: the `localStorage.path` for local storage, the
    /// `rootPath` key prefix inside the bucket otherwise.
    pub server_path: String,
}

/// Reads the storage of a Milvus server from its `milvus.yaml` (`common.storageType`,
/// `localStorage.path`, `minio.*`).
pub fn read_milvus_storage(path: &Path) -> Result<MilvusServerStorage> {
    let doc = read_yaml(path, "Milvus configuration (milvus.yaml)")?;
    parse_milvus_storage(&doc, &path.display().to_string())
}

/// Parses an already loaded `milvus.yaml`; `file` names it in errors.
pub fn parse_milvus_storage(doc: &Value, file: &str) -> Result<MilvusServerStorage> {
    if !doc.is_mapping() {
        return Err(Error::invalid_input(format!(
            "{file} is not a Milvus configuration (not a YAML mapping)"
        )));
    }
    let storage_type = first(doc, &["common.storageType", "common.storage.type"])
        .unwrap_or_else(|| "remote".to_string())
        .to_ascii_lowercase();
    if storage_type == "local" {
        let path = text(doc, "localStorage.path").unwrap_or_else(|| "/var/lib/milvus/data/".into());
        let mut location = Location::local(path.clone());
        location.form = "milvus-config".into();
        return Ok(MilvusServerStorage {
            location,
            server_path: path,
        });
    }
    if !matches!(storage_type.as_str(), "minio" | "remote" | "opendal") {
        return Err(Error::unsupported(format!(
            "{file}: common.storageType {storage_type:?} is not one Ferry knows (local, minio, remote)"
        )));
    }
    let provider = text(doc, "minio.cloudProvider")
        .unwrap_or_else(|| "minio".to_string())
        .to_ascii_lowercase();
    let storage = BackupStorage {
        version: ConfigVersion::V1,
        provider: if provider == "aws" {
            "minio".into()
        } else {
            provider
        },
        address: text(doc, "minio.address").unwrap_or_else(|| "localhost".to_string()),
        port: port(text(doc, "minio.port"), file)?,
        use_ssl: boolean(text(doc, "minio.useSSL")),
        region: text(doc, "minio.region"),
        bucket: text(doc, "minio.bucketName").unwrap_or_else(|| "a-bucket".to_string()),
        root_path: text(doc, "minio.rootPath").unwrap_or_else(|| "files".to_string()),
        access_key_id: text(doc, "minio.accessKeyID"),
        secret_access_key: text(doc, "minio.secretAccessKey").map(Secret::new),
        token: None,
        account_name: None,
        account_key: None,
        credentials_file: None,
        use_iam: boolean(text(doc, "minio.useIAM")),
    };
    let mut location = storage.to_location()?;
    location.form = "milvus-config".into();
    let server_path = location.path.clone();
    Ok(MilvusServerStorage {
        location,
        server_path,
    })
}

/// Parses an already loaded configuration document; `file` names it in errors.
pub fn parse_backup_storage(doc: &Value, file: &str) -> Result<BackupStorage> {
    if !doc.is_mapping() {
        return Err(Error::invalid_input(format!(
            "{file} is not a milvus-backup configuration (not a YAML mapping)"
        )));
    }
    let v2 = text(doc, "configVersion").is_some_and(|v| v.eq_ignore_ascii_case("v2"));
    let storage = if v2 {
        parse_v2(doc, file)?
    } else {
        parse_v1(doc, file)?
    };
    if storage.bucket.is_empty() && storage.provider != "local" {
        return Err(Error::invalid_input(format!(
            "{file} names no backup bucket ({})",
            if v2 {
                "backup.storage.bucketName / milvus.storage.bucketName"
            } else {
                "minio.backupBucketName / minio.bucketName"
            }
        )));
    }
    Ok(storage)
}

fn parse_v1(doc: &Value, file: &str) -> Result<BackupStorage> {
    let primary_type = first(
        doc,
        &[
            "minio.storageType",
            "storage.storageType",
            "minio.cloudProvider",
        ],
    )
    .unwrap_or_else(|| "minio".to_string());
    let provider = first(
        doc,
        &["minio.backupStorageType", "storage.backupStorageType"],
    )
    .unwrap_or(primary_type)
    .to_ascii_lowercase();
    let pick = |backup: &str, primary: &str| {
        first(
            doc,
            &[&format!("minio.{backup}"), &format!("minio.{primary}")],
        )
    };
    let secret = |backup: &str, primary: &str| pick(backup, primary).map(Secret::new);
    Ok(BackupStorage {
        version: ConfigVersion::V1,
        provider,
        address: pick("backupAddress", "address").unwrap_or_else(|| "localhost".to_string()),
        port: port(pick("backupPort", "port"), file)?,
        use_ssl: boolean(pick("backupUseSSL", "useSSL")),
        region: pick("backupRegion", "region"),
        bucket: pick("backupBucketName", "bucketName").unwrap_or_default(),
        root_path: pick("backupRootPath", "rootPath").unwrap_or_else(|| "backup".to_string()),
        access_key_id: pick("backupAccessKeyID", "accessKeyID"),
        secret_access_key: secret("backupSecretAccessKey", "secretAccessKey"),
        token: secret("backupToken", "token"),
        account_name: None,
        account_key: None,
        credentials_file: text(doc, "minio.backupGcpCredentialJSON"),
        use_iam: boolean(pick("backupUseIAM", "useIAM")),
    })
}

fn parse_v2(doc: &Value, file: &str) -> Result<BackupStorage> {
    // backup.storage.* inherits milvus.storage.* (but for rootPath).
    let pick = |key: &str| {
        first(
            doc,
            &[
                &format!("backup.storage.{key}"),
                &format!("milvus.storage.{key}"),
            ],
        )
    };
    let auth_type = pick("auth.type")
        .unwrap_or_else(|| "static".to_string())
        .to_ascii_lowercase();
    Ok(BackupStorage {
        version: ConfigVersion::V2,
        provider: pick("provider")
            .unwrap_or_else(|| "minio".to_string())
            .to_ascii_lowercase(),
        address: pick("address").unwrap_or_else(|| "localhost".to_string()),
        port: port(pick("port"), file)?,
        use_ssl: boolean(pick("useSSL")),
        region: pick("region"),
        bucket: pick("bucketName").unwrap_or_default(),
        root_path: text(doc, "backup.storage.rootPath").unwrap_or_else(|| "backup".to_string()),
        access_key_id: pick("auth.accessKeyID"),
        secret_access_key: pick("auth.secretAccessKey").map(Secret::new),
        token: pick("auth.sessionToken").map(Secret::new),
        account_name: pick("accountName"),
        account_key: pick("auth.accountKey").map(Secret::new),
        credentials_file: pick("auth.credentialsFile"),
        use_iam: matches!(auth_type.as_str(), "iam" | "default"),
    })
}

impl BackupStorage {
    fn endpoint(&self) -> String {
        let scheme = if self.use_ssl { "https" } else { "http" };
        let default_port = if self.use_ssl { 443 } else { 80 };
        match self.port {
            Some(p) if p != default_port => format!("{scheme}://{}:{p}", self.address),
            _ => format!("{scheme}://{}", self.address),
        }
    }

    fn is_aws_host(&self) -> bool {
        self.address.ends_with("amazonaws.com")
    }

    /// The location of the backup root with the credentials of the configuration attached
    /// (as secrets, never displayed).
    pub fn to_location(&self) -> Result<Location> {
        let root = normalise_prefix(&self.root_path)?;
        let mut loc = match self.provider.as_str() {
            "minio" | "s3" | "aws" => {
                let mut l = if self.is_aws_host() {
                    let mut l = Location::new("s3", "milvus-backup-config");
                    l.region = self.region.clone();
                    l
                } else {
                    let mut l = Location::new("minio", "milvus-backup-config");
                    l.endpoint = Some(self.endpoint());
                    l.region = self.region.clone();
                    l
                };
                l.bucket = Some(self.bucket.clone());
                self.attach_s3_keys(&mut l);
                l
            }
            "gcp" => {
                // GCS through its S3-interoperable XML API with HMAC keys.
                let mut l = Location::new("s3", "milvus-backup-config");
                l.endpoint = Some(self.endpoint());
                l.region = Some(self.region.clone().unwrap_or_else(|| "auto".to_string()));
                l.bucket = Some(self.bucket.clone());
                l.options.insert("s3.path_style".into(), "true".into());
                self.attach_s3_keys(&mut l);
                l
            }
            "gcpnative" => {
                let mut l = Location::new("gs", "milvus-backup-config");
                l.bucket = Some(self.bucket.clone());
                if let Some(f) = &self.credentials_file {
                    l.options.insert("gcs.credentials".into(), f.clone());
                }
                l
            }
            "azure" => {
                let mut l = Location::new("az", "milvus-backup-config");
                // v1 puts the account name in accessKeyID and the key in secretAccessKey.
                l.account = self
                    .account_name
                    .clone()
                    .or_else(|| self.access_key_id.clone());
                l.bucket = Some(self.bucket.clone());
                if !self.use_iam {
                    if let Some(k) = self
                        .account_key
                        .clone()
                        .or_else(|| self.secret_access_key.clone())
                    {
                        l.set_secret("azure.account_key", k);
                    }
                }
                l
            }
            "local" => {
                let mut l = Location::local(self.root_path.clone());
                l.form = "milvus-backup-config".into();
                return Ok(l);
            }
            "ali" | "aliyun" | "alibaba" | "alicloud" => {
                return Err(unsupported_provider(
                    &self.provider,
                    "Alibaba Cloud OSS",
                    "https://oss-<region>.aliyuncs.com",
                ))
            }
            "tc" | "tencent" => {
                return Err(unsupported_provider(
                    &self.provider,
                    "Tencent COS",
                    "https://cos.<region>.myqcloud.com",
                ))
            }
            "hwc" => {
                return Err(unsupported_provider(
                    &self.provider,
                    "Huawei OBS",
                    "https://obs.<region>.myhuaweicloud.com",
                ))
            }
            other => {
                return Err(Error::unsupported(format!(
                    "the milvus-backup storage type {other:?} is not known to Ferry"
                ))
                .with_hint("give the location as a URL instead (see docs/storage.md)"))
            }
        };
        loc.path = root;
        Ok(loc)
    }

    fn attach_s3_keys(&self, l: &mut Location) {
        if self.use_iam {
            return;
        }
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
            l.set_secret("s3.access_key_id", Secret::new(id.clone()));
            l.set_secret("s3.secret_access_key", secret.clone());
            if let Some(t) = &self.token {
                l.set_secret("s3.session_token", t.clone());
            }
        }
    }
}

fn unsupported_provider(name: &str, service: &str, endpoint: &str) -> Error {
    Error::unsupported(format!(
        "the milvus-backup storage type {name:?} ({service}) has no Ferry plugin"
    ))
    .with_hint(format!(
        "{service} speaks S3: give the location as s3://<bucket>/<root>/ with --s3-endpoint {endpoint} --s3-virtual-hosted and its keys"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milvus_yaml_local_and_minio_storage() {
        let doc: Value = serde_yaml_ng::from_str(
            "common:\n  storageType: local\nlocalStorage:\n  path: /var/lib/milvus/data/\n",
        )
        .unwrap();
        let s = parse_milvus_storage(&doc, "milvus.yaml").unwrap();
        assert!(s.location.is_local());
        assert_eq!(s.server_path, "/var/lib/milvus/data/");
        let doc: Value = serde_yaml_ng::from_str(
            "minio:\n  address: 10.0.0.7\n  port: 9000\n  accessKeyID: ak\n  secretAccessKey: sk\n  bucketName: milvus-bucket\n  rootPath: files\n",
        )
        .unwrap();
        let s = parse_milvus_storage(&doc, "milvus.yaml").unwrap();
        assert_eq!(s.location.scheme, "minio");
        assert_eq!(s.location.bucket.as_deref(), Some("milvus-bucket"));
        assert_eq!(s.server_path, "files/");
        assert!(!format!("{}", s.location).contains("sk"));
    }

    fn parse(yaml: &str) -> Result<BackupStorage> {
        let doc: Value = serde_yaml_ng::from_str(yaml).unwrap();
        parse_backup_storage(&doc, "backup.yaml")
    }

    #[test]
    fn v1_backup_keys_fall_back_to_primary() {
        let s = parse(
            "minio:\n  storageType: minio\n  address: 10.0.0.5\n  port: 9000\n  accessKeyID: minioadmin\n  secretAccessKey: minioadmin\n  useSSL: false\n  bucketName: a-bucket\n  rootPath: files\n  backupBucketName: backups\n  backupRootPath: backup\n",
        )
        .unwrap();
        assert_eq!(
            (
                s.version,
                s.provider.as_str(),
                s.bucket.as_str(),
                s.root_path.as_str()
            ),
            (ConfigVersion::V1, "minio", "backups", "backup")
        );
        let l = s.to_location().unwrap();
        assert_eq!(l.to_string(), "minio://10.0.0.5:9000/backups/backup/");
        assert_eq!(l.secrets["s3.secret_access_key"].expose(), "minioadmin");
        assert!(!format!("{s:?}").contains("minioadmin"));
        // No backupRootPath: milvus-backup 0.4/0.5 fall back to rootPath.
        let s = parse("minio:\n  address: h\n  port: 9000\n  bucketName: b\n  rootPath: files\n")
            .unwrap();
        assert_eq!(s.root_path, "files");
        assert_eq!(s.to_location().unwrap().path, "files/");
        // Case-insensitive keys, leading slash roots, https.
        let s = parse("MINIO:\n  ADDRESS: h\n  PORT: 443\n  USESSL: true\n  BUCKETNAME: b\n  BACKUPROOTPATH: /backup\n").unwrap();
        assert_eq!(s.to_location().unwrap().to_string(), "minios://h/b/backup/");
        assert_eq!(
            s.to_location().unwrap().endpoint.as_deref(),
            Some("https://h")
        );
    }

    #[test]
    fn v1_aws_and_azure_conventions() {
        let s = parse("minio:\n  storageType: aws\n  address: s3.us-west-2.amazonaws.com\n  port: 443\n  useSSL: true\n  region: us-west-2\n  bucketName: b\n  backupRootPath: backup\n  useIAM: true\n").unwrap();
        let l = s.to_location().unwrap();
        assert_eq!(
            (l.scheme.as_str(), l.region.as_deref()),
            ("s3", Some("us-west-2"))
        );
        assert!(l.secrets.is_empty(), "IAM: no keys");
        let s = parse("minio:\n  storageType: azure\n  address: core.windows.net\n  accessKeyID: myaccount\n  secretAccessKey: KEY==\n  bucketName: cont\n  backupRootPath: backup\n").unwrap();
        let l = s.to_location().unwrap();
        assert_eq!(
            (l.scheme.as_str(), l.account.as_deref()),
            ("az", Some("myaccount"))
        );
        assert_eq!(l.secrets["azure.account_key"].expose(), "KEY==");
    }

    #[test]
    fn v2_inherits_milvus_storage_but_root() {
        let s = parse(
            "configVersion: v2\nmilvus:\n  storage:\n    provider: minio\n    address: 127.0.0.1\n    port: 9000\n    bucketName: milvus-bucket\n    rootPath: files\n    auth:\n      type: static\n      accessKeyID: ak\n      secretAccessKey: sk\n      sessionToken: tok\nbackup:\n  storage:\n    bucketName: backup-bucket\n",
        )
        .unwrap();
        assert_eq!(
            (s.version, s.bucket.as_str(), s.root_path.as_str()),
            (ConfigVersion::V2, "backup-bucket", "backup")
        );
        let l = s.to_location().unwrap();
        assert_eq!(
            l.to_string(),
            "minio://127.0.0.1:9000/backup-bucket/backup/"
        );
        assert_eq!(l.secrets["s3.session_token"].expose(), "tok");
        let s = parse("configVersion: v2\nmilvus:\n  storage:\n    provider: azure\n    accountName: acct\n    bucketName: c\n    auth:\n      type: sharedKey\n      accountKey: K\n").unwrap();
        assert_eq!(
            s.to_location().unwrap().secrets["azure.account_key"].expose(),
            "K"
        );
    }

    #[test]
    fn refusals() {
        for (yaml, needle) in [
            (
                "minio:\n  storageType: aliyun\n  bucketName: b\n",
                "oss-<region>.aliyuncs.com",
            ),
            ("minio:\n  storageType: tc\n  bucketName: b\n", "myqcloud"),
            (
                "minio:\n  storageType: hwc\n  bucketName: b\n",
                "myhuaweicloud",
            ),
            ("minio:\n  storageType: floppy\n  bucketName: b\n", "floppy"),
        ] {
            let e = parse(yaml).unwrap().to_location().unwrap_err();
            assert!(e.to_string().contains(needle), "{e}");
        }
        assert!(parse("minio:\n  address: h\n").is_err(), "no bucket");
        assert!(parse("minio:\n  port: ninety\n  bucketName: b\n").is_err());
        assert!(parse("- a list\n").is_err());
    }
}
