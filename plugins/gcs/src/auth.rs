//! GCS credentials, in the order Ferry tries them (docs/storage.md): no credentials when asked,
//! a ready token, a key file, the user's application-default credentials, the metadata server
//! (only on GCE/GKE or when forced: never probed elsewhere), the gcloud CLI. gcp_auth caches
//! tokens per scope and refreshes them before they expire.

use std::path::PathBuf;
use std::sync::Arc;

use ferry_core::{Error, ErrorKind, Result};
use gcp_auth::{
    ConfigDefaultCredentials, CustomServiceAccount, GCloudAuthorizedUser, MetadataServiceAccount,
    TokenProvider,
};

use crate::config::AuthRequest;

/// Read-write scope of GCS.
pub const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

/// Credentials ready to authorise requests.
#[derive(Clone)]
pub enum Credentials {
    /// Unsigned requests.
    Anonymous,
    /// A fixed token.
    Token(ferry_core::Secret),
    /// A gcp_auth provider (cached, refreshed).
    Provider(Arc<dyn TokenProvider>, &'static str),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Token(_) => f.write_str("Token(<redacted>)"),
            Credentials::Provider(_, what) => write!(f, "Provider({what})"),
        }
    }
}

fn denied(message: String) -> Error {
    Error::new(ErrorKind::PermissionDenied, message)
}

impl Credentials {
    /// The `Authorization` header value, if any.
    pub async fn header(&self) -> Result<Option<String>> {
        match self {
            Credentials::Anonymous => Ok(None),
            Credentials::Token(t) => Ok(Some(format!("Bearer {}", t.expose()))),
            Credentials::Provider(p, what) => {
                let token = p.token(&[SCOPE]).await.map_err(|e| {
                    denied(format!("no GCS token from {what}: {e}")).with_hint(
                        "check the credentials (docs/storage.md lists what Ferry tries, in order)",
                    )
                })?;
                Ok(Some(format!("Bearer {}", token.as_str())))
            }
        }
    }
}

/// Refuses key files gcp_auth cannot use, with a clear message.
fn key_file(path: &str) -> Result<Credentials> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::from_io(e, format!("reading the GCS credentials file {path}")))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::invalid_input(format!("the GCS credentials file {path} is not JSON: {e}"))
    })?;
    match json.get("type").and_then(|t| t.as_str()) {
        Some("service_account") => {
            let account = CustomServiceAccount::from_json(&text).map_err(|e| {
                Error::invalid_input(format!(
                    "the service-account key {path} cannot be used: {e}"
                ))
            })?;
            Ok(Credentials::Provider(Arc::new(account), "the service-account key"))
        }
        Some("external_account") => Err(Error::unsupported(format!(
            "{path} is an external_account (workload identity federation) credential, which Ferry does not support"
        ))
        .with_hint("use a service-account key, or pass a token with --gcs-token (e.g. from `gcloud auth print-access-token`)")),
        Some("authorized_user") => Err(Error::unsupported(format!(
            "{path} holds user credentials: Ferry reads those only from gcloud's application-default location"
        ))
        .with_hint("run `gcloud auth application-default login` (Ferry then finds them), or pass --gcs-token")),
        other => Err(Error::invalid_input(format!(
            "{path} is not a Google credentials file (type {:?})",
            other.unwrap_or("missing")
        ))),
    }
}

fn user_adc_file() -> Option<PathBuf> {
    let dir = std::env::var_os("CLOUDSDK_CONFIG")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config/gcloud")))?;
    let file = dir.join("application_default_credentials.json");
    file.is_file().then_some(file)
}

/// Whether this machine is a GCE VM (the DMI product name says so): the metadata server is
/// only ever asked there, or when forced.
fn on_gce() -> bool {
    std::env::var_os("GCE_METADATA_HOST").is_some()
        || std::fs::read_to_string("/sys/class/dmi/id/product_name")
            .is_ok_and(|n| n.contains("Google"))
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Resolves the credentials asked for.
pub async fn resolve(request: &AuthRequest) -> Result<Credentials> {
    match request {
        AuthRequest::Anonymous => Ok(Credentials::Anonymous),
        AuthRequest::Token(t) => Ok(Credentials::Token(t.clone())),
        AuthRequest::KeyFile(path) => key_file(path),
        AuthRequest::Chain {
            force_metadata,
            gcloud,
        } => {
            if user_adc_file().is_some() {
                let adc = ConfigDefaultCredentials::new().await.map_err(|e| {
                    denied(format!(
                        "gcloud's application-default credentials cannot be used: {e}"
                    ))
                })?;
                return Ok(Credentials::Provider(
                    Arc::new(adc),
                    "application-default credentials",
                ));
            }
            if *force_metadata || on_gce() {
                let md = MetadataServiceAccount::new()
                    .await
                    .map_err(|e| denied(format!("the metadata server gave no token: {e}")))?;
                return Ok(Credentials::Provider(Arc::new(md), "the metadata server"));
            }
            if *gcloud && on_path("gcloud") {
                let user = GCloudAuthorizedUser::new()
                    .await
                    .map_err(|e| denied(format!("`gcloud auth print-access-token` failed: {e}")))?;
                return Ok(Credentials::Provider(Arc::new(user), "the gcloud CLI"));
            }
            Err(denied("no GCS credentials".to_string()).with_hint(
                "tried, in order: --gcs-token / GOOGLE_OAUTH_ACCESS_TOKEN, --gcs-credentials / GOOGLE_APPLICATION_CREDENTIALS (service-account key), gcloud's application-default credentials, the metadata server (GCE/GKE, or --gcs-metadata), the gcloud CLI; for public buckets and emulators pass --gcs-anonymous",
            ))
        }
    }
}
