//! Turning a [`Location`] (URL parts, flags, environment) into settings for one S3 client.

use std::time::Duration;

use ferry_core::options::PluginOptions;
use ferry_core::{Error, Location, Result, Secret};

fn opts(location: &Location) -> PluginOptions<'_> {
    PluginOptions::new(location, "s3")
}

/// Which plugin opened the location (they differ only in defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Amazon S3 defaults: virtual-hosted addressing, https, region from the chain.
    S3,
    /// MinIO / S3-compatible defaults: path-style addressing, endpoint from the URL.
    Minio,
}

/// How credentials are obtained.
#[derive(Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// Unsigned requests.
    Anonymous,
    /// Keys given explicitly (flags or environment), optionally with a session token, optionally
    /// used as the base for AssumeRole.
    Static {
        /// Access key id.
        key_id: Secret,
        /// Secret access key.
        secret: Secret,
        /// Session token.
        token: Option<Secret>,
    },
    /// aws-config's chain (profile files, web identity, SSO, credential_process, ECS, IMDS).
    Chain,
}

impl std::fmt::Debug for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Anonymous => f.write_str("Anonymous"),
            CredentialSource::Static { token, .. } => {
                write!(
                    f,
                    "Static {{ key_id: <redacted>, secret: <redacted>, token: {} }}",
                    if token.is_some() {
                        "<redacted>"
                    } else {
                        "none"
                    }
                )
            }
            CredentialSource::Chain => f.write_str("Chain"),
        }
    }
}

/// A role to assume on top of the base credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSettings {
    /// Role ARN.
    pub arn: String,
    /// External id.
    pub external_id: Option<String>,
    /// Session name.
    pub session_name: String,
    /// Credential lifetime.
    pub duration: Option<Duration>,
    /// Web identity token file (AssumeRoleWithWebIdentity instead of AssumeRole).
    pub web_identity_token_file: Option<String>,
}

/// Upload checksum sent to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadChecksum {
    /// None: compatible with every gateway.
    None,
    /// SHA-256.
    Sha256,
    /// CRC64-NVME.
    Crc64Nvme,
}

/// Everything needed to build one S3 client.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// Bucket.
    pub bucket: String,
    /// Key prefix inside the bucket (empty or ending with `/`).
    pub prefix: String,
    /// Custom endpoint (scheme://host[:port]); `None` for AWS.
    pub endpoint: Option<String>,
    /// Region; `None` when unknown (AWS: taken from the profile chain).
    pub region: Option<String>,
    /// Path-style (`true`) or virtual-hosted addressing.
    pub path_style: bool,
    /// Allow plain http.
    pub allow_http: bool,
    /// Extra root certificate (PEM file).
    pub ca_cert: Option<String>,
    /// Checksum sent with uploads.
    pub checksum: UploadChecksum,
    /// Base credentials.
    pub credentials: CredentialSource,
    /// Profile for the chain.
    pub profile: Option<String>,
    /// Role to assume.
    pub role: Option<RoleSettings>,
    /// STS endpoint.
    pub sts_endpoint: Option<String>,
    /// Whether the EC2 instance metadata service may be asked for credentials and the region
    /// off EC2 too (`--s3-imds`); on an EC2 instance it always may.
    pub imds: bool,
    /// Request timeout.
    pub request_timeout: Duration,
    /// Hosts pinned to addresses.
    pub resolve: crate::resolve::PinnedHosts,
}

fn validate_endpoint(endpoint: &str) -> Result<String> {
    let trimmed = endpoint.trim_end_matches('/');
    let parsed = url::Url::parse(trimmed).map_err(|e| {
        Error::invalid_input(format!("S3 endpoint {trimmed:?} is not a URL: {e}"))
            .with_hint("write it as http://host:port or https://host")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::invalid_input(format!(
            "S3 endpoint {trimmed:?} must be http://host[:port] or https://host[:port]"
        )));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::invalid_input(
            "the S3 endpoint embeds credentials; pass them with --s3-access-key-id / AWS_ACCESS_KEY_ID instead",
        ));
    }
    if parsed.path() != "/" && !parsed.path().is_empty() || parsed.query().is_some() {
        return Err(Error::invalid_input(format!(
            "S3 endpoint {trimmed:?} must not have a path or query: give the bucket in the location"
        )));
    }
    Ok(trimmed.to_string())
}

impl S3Settings {
    /// Resolves settings for `location`, opened by the `flavor` plugin.
    pub fn from_location(location: &Location, flavor: Flavor) -> Result<S3Settings> {
        let bucket = location
            .bucket
            .clone()
            .ok_or_else(|| Error::invalid_input(format!("{location} names no bucket")))?;
        let explicit_endpoint = location.option("s3.endpoint");
        let endpoint = explicit_endpoint
            .or(location.endpoint.as_deref())
            .or_else(|| location.default_option("s3.endpoint"))
            .map(validate_endpoint)
            .transpose()?;
        if flavor == Flavor::Minio && endpoint.is_none() {
            return Err(Error::invalid_input(format!(
                "{location} names no MinIO host: write minio://host:port/bucket/"
            )));
        }
        let region = location
            .option("s3.region")
            .or(location.region.as_deref())
            .or_else(|| location.default_option("s3.region"))
            .map(str::to_string)
            .or_else(|| endpoint.as_ref().map(|_| "us-east-1".to_string()));
        let path_flag = opts(location).flag("path_style")?;
        let virtual_flag = opts(location).flag("virtual_hosted")?;
        if path_flag && virtual_flag {
            return Err(Error::invalid_input(
                "--s3-path-style and --s3-virtual-hosted exclude each other",
            ));
        }
        let url_addressing = location.option("s3.addressing");
        let path_style = if path_flag {
            true
        } else if virtual_flag {
            false
        } else if let Some(a) = url_addressing {
            a == "path"
        } else {
            flavor == Flavor::Minio || endpoint.is_some()
        };
        let allow_http = opts(location).flag("allow_http")?
            || endpoint
                .as_deref()
                .is_some_and(|e| e.starts_with("http://"));
        let checksum = match opts(location).value("checksum").unwrap_or("none") {
            "none" | "off" => UploadChecksum::None,
            "sha256" | "SHA256" => UploadChecksum::Sha256,
            "crc64nvme" | "CRC64NVME" => UploadChecksum::Crc64Nvme,
            other => {
                return Err(Error::invalid_input(format!(
                    "--s3-checksum takes none, sha256 or crc64nvme, not {other:?}"
                )))
            }
        };
        let credentials = if opts(location).flag("anonymous")? {
            CredentialSource::Anonymous
        } else {
            match (opts(location).secret("access_key_id"), opts(location).secret("secret_access_key")) {
                (Some(key_id), Some(secret_key)) => CredentialSource::Static {
                    key_id,
                    secret: secret_key,
                    token: opts(location).secret("session_token"),
                },
                (Some(_), None) => {
                    return Err(Error::invalid_input(
                        "an S3 access key id was given without its secret access key",
                    )
                    .with_hint("give --s3-secret-access-key or AWS_SECRET_ACCESS_KEY (per side: FERRY_SRC_/FERRY_DST_ prefixes)"))
                }
                (None, Some(_)) => {
                    return Err(Error::invalid_input(
                        "an S3 secret access key was given without its access key id",
                    ))
                }
                (None, None) => CredentialSource::Chain,
            }
        };
        let duration = opts(location)
            .value("session_duration")
            .map(|v| {
                v.parse::<u64>().map(Duration::from_secs).map_err(|_| {
                    Error::invalid_input(format!("--s3-session-duration takes seconds, not {v:?}"))
                })
            })
            .transpose()?;
        let role = opts(location).value("role_arn").map(|arn| RoleSettings {
            arn: arn.to_string(),
            external_id: opts(location).value("external_id").map(str::to_string),
            session_name: opts(location)
                .value("session_name")
                .unwrap_or("ferry")
                .to_string(),
            duration,
            web_identity_token_file: opts(location)
                .value("web_identity_token_file")
                .map(str::to_string),
        });
        let request_timeout = opts(location).seconds("request_timeout", 300)?;
        Ok(S3Settings {
            bucket,
            prefix: location.path.clone(),
            endpoint,
            region,
            path_style,
            allow_http,
            ca_cert: opts(location).value("ca_cert").map(str::to_string),
            checksum,
            credentials,
            profile: opts(location).value("profile").map(str::to_string),
            role,
            sts_endpoint: opts(location)
                .value("sts_endpoint")
                .map(validate_endpoint)
                .transpose()?,
            imds: opts(location).flag("imds")?,
            request_timeout,
            resolve: crate::resolve::PinnedHosts::parse(
                opts(location).value("resolve").unwrap_or(""),
            )?,
        })
    }

    /// Identifies the endpoint, bucket and credentials: two stores with the same domain can
    /// copy server-side (one credential reads the source and writes the destination).
    pub fn copy_domain(&self) -> String {
        let who = match &self.credentials {
            CredentialSource::Anonymous => "anonymous".to_string(),
            CredentialSource::Static { key_id, .. } => {
                // A fingerprint, not the key: domains are compared, never shown.
                format!("key:{:08x}", crc_of(key_id.expose()))
            }
            CredentialSource::Chain => {
                format!("chain:{}", self.profile.as_deref().unwrap_or("default"))
            }
        };
        let role = self.role.as_ref().map(|r| r.arn.as_str()).unwrap_or("");
        // No bucket: one endpoint and one credential copy between any of its buckets.
        format!(
            "s3|{}|{}|{who}|{role}",
            self.endpoint.as_deref().unwrap_or("aws"),
            self.region.as_deref().unwrap_or(""),
        )
    }
}

fn crc_of(text: &str) -> u32 {
    // FNV-1a: a stable fingerprint without another dependency.
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(input: &str) -> Location {
        Location::parse(input).unwrap()
    }

    #[test]
    fn minio_defaults() {
        let s =
            S3Settings::from_location(&loc("minio://127.0.0.1:9000/bkt/backup/"), Flavor::Minio)
                .unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s.path_style && s.allow_http);
        assert_eq!(s.region.as_deref(), Some("us-east-1"));
        assert_eq!(s.prefix, "backup/");
        assert_eq!(s.credentials, CredentialSource::Chain);
    }

    #[test]
    fn aws_forms_and_flags() {
        let s = S3Settings::from_location(
            &loc("https://bkt.s3.eu-west-1.amazonaws.com/f/"),
            Flavor::S3,
        )
        .unwrap();
        assert_eq!(
            (s.region.as_deref(), s.path_style, s.endpoint.as_deref()),
            (Some("eu-west-1"), false, None)
        );
        let s = S3Settings::from_location(
            &loc("https://s3.eu-west-1.amazonaws.com/bkt/f/"),
            Flavor::S3,
        )
        .unwrap();
        assert!(s.path_style);
        let mut l = loc("s3://bkt/f/");
        l.options
            .insert("s3.endpoint".into(), "http://127.0.0.1:5000".into());
        l.options.insert("s3.virtual_hosted".into(), "true".into());
        let s = S3Settings::from_location(&l, Flavor::S3).unwrap();
        assert!(!s.path_style && s.allow_http);
        l.options.insert("s3.path_style".into(), "true".into());
        assert!(S3Settings::from_location(&l, Flavor::S3).is_err());
    }

    #[test]
    fn explicit_beats_url_beats_environment() {
        let mut l = loc("minio://10.0.0.1:9000/bkt/");
        l.defaults
            .insert("s3.endpoint".into(), "http://env:1".into());
        let s = S3Settings::from_location(&l, Flavor::Minio).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://10.0.0.1:9000"));
        l.options
            .insert("s3.endpoint".into(), "http://flag:2".into());
        let s = S3Settings::from_location(&l, Flavor::Minio).unwrap();
        assert_eq!(s.endpoint.as_deref(), Some("http://flag:2"));
    }

    #[test]
    fn credentials_and_bad_values() {
        let mut l = loc("s3://bkt/");
        l.set_secret("s3.access_key_id", Secret::new("AKIA"));
        assert!(S3Settings::from_location(&l, Flavor::S3).is_err());
        l.set_secret("s3.secret_access_key", Secret::new("SECRET"));
        let s = S3Settings::from_location(&l, Flavor::S3).unwrap();
        assert!(matches!(s.credentials, CredentialSource::Static { .. }));
        assert!(!format!("{s:?}").contains("SECRET"));
        assert!(!s.copy_domain().contains("AKIA"));
        for (k, v) in [
            ("s3.endpoint", "ftp://x"),
            ("s3.endpoint", "http://u:p@h"),
            ("s3.checksum", "md5"),
            ("s3.session_duration", "ten"),
        ] {
            let mut bad = l.clone();
            bad.options.insert(k.into(), v.into());
            let e = S3Settings::from_location(&bad, Flavor::S3).unwrap_err();
            assert!(!e.to_string().contains(":p@"), "{e}");
        }
    }
}
