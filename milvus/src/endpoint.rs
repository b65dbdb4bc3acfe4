//! Where the cluster is and who Ferry is there: `milvus://host:port[/db]`, `milvuss://…` (TLS),
//! `https://…` (a Zilliz Cloud endpoint), and the credentials, which are never printed.

use std::fmt;

use crate::error::{MilvusError, Result};

/// The schemes a cluster target is given with.
pub const SCHEMES: &[&str] = &["milvus", "milvuss"];

/// Milvus's default gRPC port.
pub const DEFAULT_PORT: u16 = 19530;

/// A parsed cluster URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterUrl {
    /// Host name or address.
    pub host: String,
    /// gRPC port.
    pub port: u16,
    /// TLS.
    pub tls: bool,
    /// The database the URL names, if any (collections then all go there; otherwise each
    /// goes to the database it was backed up from).
    pub database: Option<String>,
}

impl fmt::Display for ClusterUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls { "milvuss" } else { "milvus" };
        write!(f, "{scheme}://{}:{}", self.host, self.port)?;
        match &self.database {
            Some(db) => write!(f, "/{db}"),
            None => Ok(()),
        }
    }
}

/// Whether `text` names a cluster rather than a storage location: `milvus://`, `milvuss://`, or
/// an `https://` URL of a Zilliz Cloud cluster (`*.zillizcloud.com`, `*.zilliz.com`,
/// `*.zilliz.com.cn`); every other `https://` URL stays a storage URL.
pub fn is_cluster_url(text: &str) -> bool {
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    match url.scheme() {
        "milvus" | "milvuss" => true,
        "https" => url.host_str().is_some_and(is_zilliz_cloud_host),
        _ => false,
    }
}

fn is_zilliz_cloud_host(host: &str) -> bool {
    [".zillizcloud.com", ".zilliz.com", ".zilliz.com.cn"]
        .iter()
        .any(|suffix| host.ends_with(suffix))
}

impl ClusterUrl {
    /// Parses a cluster URL; the error names the input and the accepted forms.
    pub fn parse(text: &str) -> Result<Self> {
        let bad = |why: &str| {
            MilvusError::InvalidInput(format!(
                "{text:?} is not a Milvus cluster URL: {why}; write milvus://HOST:PORT[/DATABASE], \
                 milvuss://HOST:PORT[/DATABASE] for TLS, or https://<Zilliz Cloud endpoint>"
            ))
        };
        let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
        let tls = match url.scheme() {
            "milvus" | "http" => false,
            "milvuss" | "https" => true,
            other => return Err(bad(&format!("scheme {other}:// is not a cluster scheme"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad(
                "credentials do not belong in the URL (use --milvus-user/--milvus-password or --milvus-token)",
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("a query or fragment is not allowed"));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let default_port = if url.scheme() == "https" {
            443
        } else {
            DEFAULT_PORT
        };
        let port = url.port().unwrap_or(default_port);
        let path = url.path().trim_matches('/');
        if path.contains('/') {
            return Err(bad("the path may only name a database"));
        }
        let database = (!path.is_empty()).then(|| path.to_string());
        Ok(ClusterUrl {
            host,
            port,
            tls,
            database,
        })
    }

    /// The database calls go to when they name none: the URL's, else `default`.
    pub fn database(&self) -> &str {
        self.database.as_deref().unwrap_or("default")
    }

    /// `host:port`, as errors name it.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The URI the gRPC channel connects to.
    pub fn grpc_uri(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        format!("{scheme}://{host}:{}", self.port)
    }
}

/// How Ferry logs in. Debug and Display never show a secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No authentication (a server without `authorizationEnabled`).
    #[default]
    None,
    /// User and password.
    Password {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// An API key or `user:password` token (Zilliz Cloud).
    Token(String),
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credentials::None => write!(f, "none"),
            Credentials::Password { user, .. } => write!(f, "user {user} with a password"),
            Credentials::Token(_) => write!(f, "a token"),
        }
    }
}

impl Credentials {
    /// The `authorization` header value Milvus expects: base64 of `user:password`, or of the
    /// token.
    pub fn authorization(&self) -> Option<String> {
        use base64::Engine;
        let raw = match self {
            Credentials::None => return None,
            Credentials::Password { user, password } => format!("{user}:{password}"),
            Credentials::Token(token) => token.clone(),
        };
        Some(base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms() {
        let u = ClusterUrl::parse("milvus://127.0.0.1:19531/sales").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("127.0.0.1", 19531, false)
        );
        assert_eq!(u.database.as_deref(), Some("sales"));
        assert_eq!(u.grpc_uri(), "http://127.0.0.1:19531");
        let u = ClusterUrl::parse("milvuss://db.example").unwrap();
        assert_eq!((u.port, u.tls, u.database()), (19530, true, "default"));
        let u = ClusterUrl::parse("https://in01-abc.aws-us-west-2.vectordb.zillizcloud.com:19541")
            .unwrap();
        assert!(u.tls && u.port == 19541);
    }

    #[test]
    fn refuses_what_it_cannot_use_naming_the_input() {
        for bad in [
            "milvus://",
            "milvus://root:pw@h:1",
            "milvus://h:1/a/b",
            "s3://b/k",
            "milvus://h:1/db?x=1",
        ] {
            let err = ClusterUrl::parse(bad).unwrap_err().to_string();
            assert!(err.contains(bad), "{err}");
            assert!(!err.contains("pw@") || bad.contains("pw"), "{err}");
        }
    }

    #[test]
    fn only_zilliz_https_urls_are_clusters() {
        assert!(is_cluster_url("milvus://h:1"));
        assert!(is_cluster_url(
            "https://in01-x.api.gcp-us-west1.zillizcloud.com"
        ));
        assert!(!is_cluster_url(
            "https://bucket.s3.us-east-1.amazonaws.com/backups"
        ));
        assert!(!is_cluster_url("./backups"));
    }

    #[test]
    fn secrets_stay_out_of_debug() {
        let c = Credentials::Password {
            user: "root".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.authorization().unwrap(), "cm9vdDpodW50ZXIy");
        assert!(!format!("{:?}", Credentials::Token("sk-1".into())).contains("sk-1"));
    }
}
