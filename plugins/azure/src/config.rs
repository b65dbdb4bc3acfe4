//! Turning a [`Location`] (URL parts, flags, environment) into settings for one Azure client.

use std::time::Duration;

use ferry_core::options::PluginOptions;
use ferry_core::{Error, Location, Result, Secret};

fn opts(location: &Location) -> PluginOptions<'_> {
    PluginOptions::new(location, "azure")
}

use crate::sas::SasToken;

/// How requests are authorised, in the order Ferry tries them (docs/storage.md).
#[derive(Clone)]
pub enum AzureAuth {
    /// A SAS token (from the URL's query or `--azure-sas`).
    Sas(SasToken),
    /// The storage account key.
    AccountKey(Secret),
    /// A ready OAuth access token.
    BearerToken(Secret),
    /// Service principal with a client secret.
    ClientSecret {
        /// Tenant.
        tenant_id: String,
        /// Client id.
        client_id: String,
        /// Secret.
        secret: Secret,
    },
    /// Workload identity (federated token file).
    WorkloadIdentity {
        /// Tenant.
        tenant_id: String,
        /// Client id.
        client_id: String,
        /// Token file.
        token_file: String,
    },
    /// The managed identity of the host (asked for explicitly).
    ManagedIdentity {
        /// A user-assigned identity's client id.
        client_id: Option<String>,
    },
    /// The Azure CLI's login.
    AzureCli,
}

impl std::fmt::Debug for AzureAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            AzureAuth::Sas(_) => "Sas",
            AzureAuth::AccountKey(_) => "AccountKey",
            AzureAuth::BearerToken(_) => "BearerToken",
            AzureAuth::ClientSecret { .. } => "ClientSecret",
            AzureAuth::WorkloadIdentity { .. } => "WorkloadIdentity",
            AzureAuth::ManagedIdentity { .. } => "ManagedIdentity",
            AzureAuth::AzureCli => "AzureCli",
        };
        write!(f, "{name}(<redacted>)")
    }
}

/// Everything needed to build one Azure client.
#[derive(Debug, Clone)]
pub struct AzureSettings {
    /// Storage account.
    pub account: String,
    /// Container.
    pub container: String,
    /// Prefix inside the container (empty or ending with `/`).
    pub prefix: String,
    /// Blob service URL (`https://<account>.blob.core.windows.net` unless given).
    pub endpoint: String,
    /// Allow plain http.
    pub allow_http: bool,
    /// Extra root certificate (PEM file).
    pub ca_cert: Option<String>,
    /// Request timeout.
    pub request_timeout: Duration,
    /// How requests are authorised.
    pub auth: AzureAuth,
}

fn parse_endpoint(endpoint: &str) -> Result<url::Url> {
    let trimmed = endpoint.trim_end_matches('/');
    let url = url::Url::parse(trimmed).map_err(|e| {
        Error::invalid_input(format!("Azure endpoint {trimmed:?} is not a URL: {e}"))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_input(format!(
            "Azure endpoint {trimmed:?} must be http(s)://host[:port][/account]"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(Error::invalid_input(
            "the Azure endpoint must not carry credentials or a query: give a SAS with --azure-sas",
        ));
    }
    Ok(url)
}

/// Whether `az` is on the PATH.
fn azure_cli_available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join("az").is_file()))
}

impl AzureSettings {
    /// Resolves settings for `location`.
    pub fn from_location(location: &Location) -> Result<AzureSettings> {
        let container = location
            .bucket
            .clone()
            .ok_or_else(|| Error::invalid_input(format!("{location} names no container")))?;
        let endpoint = opts(location)
            .value("endpoint")
            .map(parse_endpoint)
            .transpose()?;
        let endpoint_account = endpoint.as_ref().and_then(|u| {
            let first = u.path().trim_matches('/').split('/').next()?;
            (!first.is_empty()).then(|| first.to_string())
        });
        let account = location
            .account
            .clone()
            .or_else(|| opts(location).value("account").map(str::to_string))
            .or(endpoint_account)
            .ok_or_else(|| {
                Error::invalid_input(format!("{location} names no storage account")).with_hint(
                    "use https://<account>.blob.core.windows.net/<container>/, azure://<account>/<container>/, or --azure-account / AZURE_STORAGE_ACCOUNT",
                )
            })?;
        let endpoint = match endpoint {
            Some(u) => u.as_str().trim_end_matches('/').to_string(),
            None => format!("https://{account}.blob.core.windows.net"),
        };
        let allow_http = opts(location).flag("allow_http")? || endpoint.starts_with("http://");
        let request_timeout = opts(location).seconds("request_timeout", 300)?;
        Ok(AzureSettings {
            auth: Self::auth(location)?,
            account,
            container,
            prefix: location.path.clone(),
            endpoint,
            allow_http,
            ca_cert: opts(location).value("ca_cert").map(str::to_string),
            request_timeout,
        })
    }

    fn auth(location: &Location) -> Result<AzureAuth> {
        if let Some(sas) = opts(location)
            .secret("sas")
            .or_else(|| location.secret("az.sas").cloned())
        {
            return Ok(AzureAuth::Sas(SasToken::parse(sas.expose())?));
        }
        if let Some(key) = opts(location).secret("account_key") {
            return Ok(AzureAuth::AccountKey(key));
        }
        if let Some(token) = opts(location).secret("bearer_token") {
            return Ok(AzureAuth::BearerToken(token));
        }
        let tenant = opts(location).value("tenant_id").map(str::to_string);
        let client = opts(location).value("client_id").map(str::to_string);
        if let (Some(tenant_id), Some(client_id), Some(secret)) = (
            tenant.clone(),
            client.clone(),
            opts(location).secret("client_secret"),
        ) {
            return Ok(AzureAuth::ClientSecret {
                tenant_id,
                client_id,
                secret,
            });
        }
        if let (Some(tenant_id), Some(client_id), Some(file)) = (
            tenant,
            client.clone(),
            opts(location).value("federated_token_file"),
        ) {
            return Ok(AzureAuth::WorkloadIdentity {
                tenant_id,
                client_id,
                token_file: file.to_string(),
            });
        }
        if opts(location).flag("managed_identity")? {
            return Ok(AzureAuth::ManagedIdentity { client_id: client });
        }
        if !opts(location).flag("no_cli")? && azure_cli_available() {
            return Ok(AzureAuth::AzureCli);
        }
        Err(Error::new(
            ferry_core::ErrorKind::PermissionDenied,
            format!("no Azure credentials for {location}"),
        )
        .with_hint(
            "tried, in order: a SAS (URL query, --azure-sas, AZURE_STORAGE_SAS_TOKEN), an account key (--azure-account-key, AZURE_STORAGE_KEY), a bearer token (--azure-bearer-token, AZURE_STORAGE_TOKEN), a service principal (AZURE_TENANT_ID + AZURE_CLIENT_ID + AZURE_CLIENT_SECRET), workload identity (+ AZURE_FEDERATED_TOKEN_FILE), managed identity (--azure-managed-identity), the Azure CLI (`az` on the PATH); see docs/storage.md",
        ))
    }

    /// The account and container: server-side copies stay inside one container here.
    pub fn copy_domain(&self) -> String {
        format!("az|{}|{}|{}", self.endpoint, self.account, self.container)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(input: &str) -> Location {
        Location::parse(input).unwrap()
    }

    #[test]
    fn accounts_endpoints_and_key() {
        let mut l = loc("https://acct.blob.core.windows.net/cont/f/");
        l.set_secret("azure.account_key", Secret::new("S0VZ"));
        let s = AzureSettings::from_location(&l).unwrap();
        assert_eq!(
            (s.account.as_str(), s.container.as_str(), s.prefix.as_str()),
            ("acct", "cont", "f/")
        );
        assert_eq!(s.endpoint, "https://acct.blob.core.windows.net");
        assert!(matches!(s.auth, AzureAuth::AccountKey(_)));
        assert!(!format!("{s:?}").contains("S0VZ"));

        let mut l = loc("az://cont/f/");
        l.options.insert(
            "azure.endpoint".into(),
            "http://127.0.0.1:10000/devstoreaccount1".into(),
        );
        l.set_secret("azure.account_key", Secret::new("S0VZ"));
        let s = AzureSettings::from_location(&l).unwrap();
        assert_eq!(s.account, "devstoreaccount1");
        assert!(s.allow_http);
        assert!(
            AzureSettings::from_location(&loc("az://cont/f/")).is_err(),
            "no account"
        );
    }

    #[test]
    fn chain_order_and_refusal() {
        let mut l = loc("azure://acct/cont/");
        l.options.insert("azure.no_cli".into(), "true".into());
        let e = AzureSettings::from_location(&l).unwrap_err();
        assert!(e.to_string().contains("AZURE_CLIENT_SECRET"), "{e}");
        l.options
            .insert("azure.managed_identity".into(), "true".into());
        assert!(matches!(
            AzureSettings::from_location(&l).unwrap().auth,
            AzureAuth::ManagedIdentity { .. }
        ));
        l.options.insert("azure.tenant_id".into(), "t".into());
        l.options.insert("azure.client_id".into(), "c".into());
        l.set_secret("azure.client_secret", Secret::new("s"));
        assert!(matches!(
            AzureSettings::from_location(&l).unwrap().auth,
            AzureAuth::ClientSecret { .. }
        ));
        l.set_secret("azure.bearer_token", Secret::new("t"));
        assert!(matches!(
            AzureSettings::from_location(&l).unwrap().auth,
            AzureAuth::BearerToken(_)
        ));
        l.set_secret("azure.account_key", Secret::new("k"));
        assert!(matches!(
            AzureSettings::from_location(&l).unwrap().auth,
            AzureAuth::AccountKey(_)
        ));
        l.set_secret("azure.sas", Secret::new("sv=2022-11-02&sp=rl&sig=abc"));
        assert!(matches!(
            AzureSettings::from_location(&l).unwrap().auth,
            AzureAuth::Sas(_)
        ));
    }
}
