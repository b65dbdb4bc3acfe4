//! Locations: what the user typed (a path or a URL), normalised into plugin-independent parts.
//!
//! Parsing is purely syntactic and table-driven (see [`forms`]): it recognises local paths,
//! `file://`, the bucket schemes (`s3://`, `s3a://`, `gs://`, `az://`, `azure://`, `abfs[s]://`,
//! `minio[s]://`) and the cloud providers' `https://` forms. Which plugin serves a location is
//! decided by the [`crate::registry::Registry`] from the canonical scheme.

mod forms;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::redact::Secret;

pub(crate) use forms::normalise_prefix;
pub use forms::{parse_location, KNOWN_FORMS};

/// The canonical scheme of local-disk locations.
pub const LOCAL_SCHEME: &str = "file";

/// A normalised location: canonical scheme, container (bucket), path or prefix, and options.
/// Serialising it never includes secrets (job records store locations this way).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Canonical scheme (`file`, `s3`, `minio`, `gs`, `az`, or a vendor plugin's scheme).
    pub scheme: String,
    /// Bucket or container, for object stores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    /// Local: the filesystem path. Object stores: the prefix inside the bucket, empty or
    /// ending with `/`.
    pub path: String,
    /// Service endpoint (scheme, host and port), when the form names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Account (Azure storage account), when the form names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Region, when the form names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Which input form matched (for messages and tests), e.g. `s3-virtual-hosted`.
    pub form: String,
    /// Non-secret options (plugin-namespaced keys such as `s3.path_style`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Option values from the environment: used only where neither a flag nor the URL says.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub defaults: BTreeMap<String, String>,
    /// Secret options (SAS tokens from a URL's query, keys given on the command line).
    /// Never displayed, never serialised.
    #[serde(skip)]
    pub secrets: BTreeMap<String, Secret>,
}

impl Location {
    /// Parses what the user typed. See [`parse_location`].
    ///
    /// ```
    /// use ferry_core::Location;
    ///
    /// let s3 = Location::parse("s3://backups/milvus/")?;
    /// assert_eq!((s3.scheme.as_str(), s3.bucket.as_deref()), ("s3", Some("backups")));
    /// let local = Location::parse("/mnt/backups")?;
    /// assert_eq!(local.scheme, "file");
    /// assert!(Location::parse("s3://user:secret@backups/").is_err(), "no credentials in URLs");
    /// # Ok::<(), ferry_core::Error>(())
    /// ```
    pub fn parse(input: &str) -> Result<Location> {
        parse_location(input)
    }

    /// A location of the given scheme with everything else empty.
    pub fn new(scheme: impl Into<String>, form: &'static str) -> Location {
        Location {
            scheme: scheme.into(),
            bucket: None,
            path: String::new(),
            endpoint: None,
            account: None,
            region: None,
            form: form.to_string(),
            options: BTreeMap::new(),
            defaults: BTreeMap::new(),
            secrets: BTreeMap::new(),
        }
    }

    /// An option given explicitly (flag or URL).
    pub fn option(&self, key: &str) -> Option<&str> {
        self.options.get(key).map(String::as_str)
    }

    /// An option from the environment.
    pub fn default_option(&self, key: &str) -> Option<&str> {
        self.defaults.get(key).map(String::as_str)
    }

    /// A secret option.
    pub fn secret(&self, key: &str) -> Option<&Secret> {
        self.secrets.get(key)
    }

    /// A local-disk location at `path`.
    pub fn local(path: impl Into<String>) -> Location {
        let mut l = Location::new(LOCAL_SCHEME, "local-path");
        l.path = path.into();
        l
    }

    /// Whether this is a local-disk location.
    pub fn is_local(&self) -> bool {
        self.scheme == LOCAL_SCHEME
    }

    /// The location of the folder `name` directly under this one.
    pub fn child(&self, name: &str) -> Result<Location> {
        crate::key::validate_segment(name)?;
        let mut child = self.clone();
        if self.is_local() {
            let base = self.path.trim_end_matches('/');
            child.path = if base.is_empty() && self.path.starts_with('/') {
                format!("/{name}")
            } else {
                format!("{base}/{name}")
            };
        } else {
            child.path = format!("{}{}/", self.path, name);
        }
        Ok(child)
    }

    /// The last path segment (a backup name when the location is a backup folder).
    pub fn last_segment(&self) -> Option<String> {
        let trimmed = self.path.trim_end_matches('/');
        let last = trimmed.rsplit('/').next()?;
        if last.is_empty() || last == "." || last == ".." {
            if self.is_local() {
                // Resolve `.` and friends through the filesystem when possible.
                return std::fs::canonicalize(&self.path).ok().and_then(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .map(|s| s.to_string())
                });
            }
            return None;
        }
        Some(last.to_string())
    }

    /// Whether `inner` is this location or lies inside it (same store, path prefix).
    /// Local paths are compared after making them absolute and resolving `.`/`..` and
    /// symlinks where they exist.
    pub fn contains(&self, inner: &Location) -> bool {
        if self.scheme != inner.scheme
            || self.bucket != inner.bucket
            || self.endpoint != inner.endpoint
            || self.account != inner.account
        {
            return false;
        }
        if self.is_local() {
            let (Some(outer), Some(inner)) =
                (local_normalised(&self.path), local_normalised(&inner.path))
            else {
                return false;
            };
            return inner.starts_with(outer);
        }
        let outer = self.path.trim_end_matches('/');
        let inner = inner.path.trim_end_matches('/');
        outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
    }

    /// Sets a plugin option (`plugin.key`), validating the namespace.
    pub fn set_option(&mut self, key: &str, value: impl Into<String>) -> Result<()> {
        if !key.contains('.') {
            return Err(Error::invalid_input(format!(
                "option {key:?} must be namespaced as `plugin.key`"
            )));
        }
        self.options.insert(key.to_string(), value.into());
        Ok(())
    }

    /// Sets a secret option; it will never be displayed or serialised.
    pub fn set_secret(&mut self, key: &str, value: Secret) {
        self.secrets.insert(key.to_string(), value);
    }
}

/// An absolute, lexically normalised local path, with the longest existing ancestor resolved
/// through symlinks.
fn local_normalised(path: &str) -> Option<std::path::PathBuf> {
    use std::path::{Component, PathBuf};
    let absolute = std::path::absolute(path).ok()?;
    let mut clean = PathBuf::new();
    for c in absolute.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    let mut existing = clean.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        rest.push(existing.file_name()?.to_os_string());
        if !existing.pop() {
            break;
        }
    }
    let mut resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
    for part in rest.into_iter().rev() {
        resolved.push(part);
    }
    Some(resolved)
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_local() {
            return f.write_str(&self.path);
        }
        if self.scheme == "az" {
            if let Some(account) = &self.account {
                // azure://<account>/<container>/… names the account; az:// cannot.
                return write!(
                    f,
                    "azure://{account}/{}/{}",
                    self.bucket.as_deref().unwrap_or_default(),
                    self.path
                );
            }
        }
        if self.scheme == "minio" {
            if let Some(endpoint) = &self.endpoint {
                let (scheme, host) = match endpoint.split_once("://") {
                    Some(("https", host)) => ("minios", host),
                    Some((_, host)) => ("minio", host),
                    None => ("minio", endpoint.as_str()),
                };
                write!(f, "{scheme}://{host}/")?;
                if let Some(bucket) = &self.bucket {
                    write!(f, "{bucket}/")?;
                }
                return f.write_str(&self.path);
            }
        }
        write!(f, "{}://", self.scheme)?;
        match (&self.endpoint, &self.bucket) {
            // A vendor plugin's URL keeps its port; one without a host shows its absolute path.
            (Some(endpoint), _) if self.form == "plugin-url" => write!(f, "{endpoint}/")?,
            (_, Some(bucket)) => write!(f, "{bucket}/")?,
            (_, None) => f.write_str("/")?,
        }
        f.write_str(&self.path)
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("scheme", &self.scheme)
            .field("bucket", &self.bucket)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("account", &self.account)
            .field("region", &self.region)
            .field("form", &self.form)
            .field("options", &self.options)
            .field("defaults", &self.defaults)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_of_local_and_bucket() {
        let l = Location::local("./out");
        assert_eq!(l.child("b1").unwrap().path, "./out/b1");
        let l = Location::local("/");
        assert_eq!(l.child("b1").unwrap().path, "/b1");
        let l = Location::parse("s3://bkt/backup/").unwrap();
        assert_eq!(l.child("b1").unwrap().to_string(), "s3://bkt/backup/b1/");
        assert!(l.child("../x").is_err());
    }

    #[test]
    fn secrets_never_printed() {
        let mut l = Location::parse("s3://bkt/x/").unwrap();
        l.set_secret("s3.secret_access_key", Secret::new("TOPSECRET"));
        assert!(!format!("{l:?}").contains("TOPSECRET"));
        assert!(!l.to_string().contains("TOPSECRET"));
        assert!(!serde_json::to_string(&l).unwrap().contains("TOPSECRET"));
    }

    #[test]
    fn display_round_trips() {
        for input in [
            "s3://bkt/a/b/",
            "minio://127.0.0.1:9000/bkt/x/",
            "minios://h:9443/bkt/",
            "azure://acct/cont/f/",
            "gs://bkt/f/",
            "/tmp/x",
        ] {
            let l = Location::parse(input).unwrap();
            assert_eq!(l.to_string(), input);
            let again = Location::parse(&l.to_string()).unwrap();
            assert_eq!(
                (
                    again.scheme,
                    again.bucket,
                    again.path,
                    again.endpoint,
                    again.account
                ),
                (
                    l.scheme.clone(),
                    l.bucket.clone(),
                    l.path.clone(),
                    l.endpoint.clone(),
                    l.account.clone()
                )
            );
        }
        let json =
            serde_json::to_string(&Location::parse("azure://acct/cont/f/").unwrap()).unwrap();
        let back: Location = serde_json::from_str(&json).unwrap();
        assert_eq!(back.account.as_deref(), Some("acct"));
    }

    #[test]
    fn containment() {
        let a = Location::parse("s3://bkt/backup/").unwrap();
        assert!(a.contains(&Location::parse("s3://bkt/backup/b1/").unwrap()));
        assert!(!a.contains(&Location::parse("s3://bkt/backups/").unwrap()));
        assert!(!a.contains(&Location::parse("s3://other/backup/b1/").unwrap()));
        assert!(Location::local("/tmp/x").contains(&Location::local("/tmp/x/./y/../y/z")));
        assert!(!Location::local("/tmp/x").contains(&Location::local("/tmp/xy")));
        assert!(Location::local(".").contains(&Location::local("sub")));
    }

    #[test]
    fn last_segment() {
        assert_eq!(
            Location::local("a/b/real_backup_1/")
                .last_segment()
                .as_deref(),
            Some("real_backup_1")
        );
        assert_eq!(
            Location::parse("s3://bkt/backup/nightly/")
                .unwrap()
                .last_segment()
                .as_deref(),
            Some("nightly")
        );
        assert_eq!(Location::parse("s3://bkt").unwrap().last_segment(), None);
    }
}
