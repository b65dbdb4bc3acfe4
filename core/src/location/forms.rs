//! The table of location forms Ferry understands, and the parser that walks it.
//!
//! Each [`Form`] is one row: a name, an example, and a matcher that either claims the input
//! (returning a normalised [`Location`] or a clear error) or passes. Adding a cloud form is
//! adding a row.

use percent_encoding::percent_decode_str;
use url::Url;

use super::Location;
use crate::error::{Error, Result};
use crate::redact::{redact_text, Secret};

/// One recognised input form.
pub struct Form {
    /// Stable name, recorded in [`Location::form`].
    pub name: &'static str,
    /// An example, for help texts and errors.
    pub example: &'static str,
    matcher: fn(&Url) -> Option<Result<Location>>,
}

/// Every URL form, tried in order; the first that claims the input wins.
pub static KNOWN_FORMS: &[Form] = &[
    Form {
        name: "file-url",
        example: "file:///var/backups/milvus/",
        matcher: file_url,
    },
    Form {
        name: "s3-url",
        example: "s3://<bucket>/<folder>/ (also s3a://)",
        matcher: s3_url,
    },
    Form {
        name: "minio-url",
        example: "minio://<host>:<port>/<bucket>/<folder>/ (minios:// for https)",
        matcher: minio_url,
    },
    Form {
        name: "gcs-url",
        example: "gs://<bucket>/<folder>/",
        matcher: gcs_url,
    },
    Form {
        name: "azure-url",
        example: "az://<container>/<folder>/ or azure://<account>/<container>/<folder>/",
        matcher: azure_url,
    },
    Form {
        name: "abfs-url",
        example: "abfss://<container>@<account>.dfs.core.windows.net/<folder>/",
        matcher: abfs_url,
    },
    Form {
        name: "s3-https",
        example: "https://<bucket>.s3.<region>.amazonaws.com/<folder>/",
        matcher: s3_https,
    },
    Form {
        name: "gcs-https",
        example: "https://storage.googleapis.com/<bucket>/<folder>/",
        matcher: gcs_https,
    },
    Form {
        name: "azure-https",
        example: "https://<account>.blob.core.windows.net/<container>/<folder>/",
        matcher: azure_https,
    },
    Form {
        name: "plugin-url",
        example: "<scheme>://<bucket>/<folder>/ for a vendor plugin's scheme",
        matcher: plugin_url,
    },
];

/// Parses a path or URL into a [`Location`].
pub fn parse_location(input: &str) -> Result<Location> {
    if input.is_empty() {
        return Err(Error::invalid_input("the location is empty")
            .with_hint("give a folder path or a URL such as s3://bucket/backup/"));
    }
    if input.contains('\0') {
        return Err(Error::invalid_input(format!(
            "location {:?} contains a NUL byte",
            redact_text(&input.replace('\0', "?"))
        )));
    }
    if !looks_like_url(input) {
        return Ok(Location::local(input));
    }
    let shown = redact_text(input);
    refuse_dot_segments(input, &shown)?;
    let url = Url::parse(input).map_err(|e| {
        Error::invalid_input(format!("location {shown:?} is not a valid URL: {e}"))
            .with_hint(supported_forms_hint())
    })?;
    let abfs = matches!(url.scheme(), "abfs" | "abfss");
    if (!url.username().is_empty() && !abfs) || url.password().is_some() {
        return Err(Error::invalid_input(format!(
            "location {shown:?} embeds credentials in the URL"
        ))
        .with_hint("remove them from the URL and pass them through options or environment variables (see `ferry --help`)"));
    }
    if url.fragment().is_some() {
        return Err(Error::invalid_input(format!(
            "location {shown:?} has a `#fragment`, which no storage understands"
        )));
    }
    for form in KNOWN_FORMS {
        if let Some(result) = (form.matcher)(&url) {
            return result.map_err(|e| e.context(format!("location {shown:?}")));
        }
    }
    Err(
        Error::invalid_input(format!("location {shown:?} is not a form Ferry recognises"))
            .with_hint(supported_forms_hint()),
    )
}

fn supported_forms_hint() -> String {
    let forms: Vec<&str> = KNOWN_FORMS.iter().map(|f| f.example).collect();
    format!(
        "use a local path or one of: {}; for other S3-compatible servers use minio://host:port/bucket/ or s3://bucket/ with --s3-endpoint",
        forms.join(", ")
    )
}

/// URL parsers resolve `.` and `..` silently; a location that contains them is refused instead,
/// so that what is read or written is exactly what was typed.
fn refuse_dot_segments(input: &str, shown: &str) -> Result<()> {
    let after_scheme = input.split_once("://").map(|(_, r)| r).unwrap_or(input);
    let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
    for segment in path.split('/') {
        let decoded = percent_decode_str(segment).decode_utf8_lossy();
        if decoded == "." || decoded == ".." {
            return Err(Error::invalid_input(format!(
                "location {shown:?} contains a `{decoded}` path segment"
            ))
            .with_hint("write the location without `.` or `..` segments"));
        }
    }
    Ok(())
}

/// `scheme://…` with a scheme of letters, digits, `+`, `-`, `.` (so `C:\x` or `a:b` stay paths).
fn looks_like_url(input: &str) -> bool {
    match input.split_once("://") {
        Some((scheme, _)) => {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn no_query(url: &Url) -> Result<()> {
    if url.query().is_some() {
        return Err(Error::invalid_input(
            "this form takes no `?query`; give options as command-line flags",
        ));
    }
    Ok(())
}

/// Decodes and validates a `/`-separated prefix: no `.`/`..`/empty segments, no NUL; returns
/// it empty or with a trailing `/`.
pub(crate) fn normalise_prefix(raw: &str) -> Result<String> {
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Error::invalid_input("the path is not valid UTF-8 after percent-decoding"))?;
    let trimmed = decoded.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let prefix = format!("{trimmed}/");
    crate::key::validate_prefix(&prefix)?;
    Ok(prefix)
}

fn validate_bucket(bucket: &str, what: &str) -> Result<String> {
    let decoded = percent_decode_str(bucket)
        .decode_utf8()
        .map_err(|_| Error::invalid_input(format!("the {what} name is not valid UTF-8")))?
        .to_string();
    if decoded.is_empty() {
        return Err(Error::invalid_input(format!("the {what} name is missing")));
    }
    if decoded.len() > 255
        || !decoded
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '$'))
        || decoded == "."
        || decoded == ".."
    {
        return Err(Error::invalid_input(format!(
            "{decoded:?} is not a valid {what} name (letters, digits, `-`, `_`, `.` only)"
        )));
    }
    Ok(decoded)
}

/// `<bucket>` from the host and the prefix from the path (`scheme://bucket/prefix`).
fn bucket_and_prefix(url: &Url, scheme: &str, form: &'static str) -> Result<Location> {
    no_query(url)?;
    if url.port().is_some() {
        return Err(Error::invalid_input(
            "a bucket URL has no port; for a custom endpoint use minio://host:port/bucket/ or --s3-endpoint",
        ));
    }
    let host = url.host_str().unwrap_or_default();
    let mut loc = Location::new(scheme, form);
    loc.bucket = Some(validate_bucket(host, "bucket")?);
    loc.path = normalise_prefix(url.path())?;
    Ok(loc)
}

/// Splits `/first/rest…` into the first segment and the rest.
fn first_segment(path: &str) -> (&str, &str) {
    let path = path.trim_start_matches('/');
    match path.split_once('/') {
        Some((a, b)) => (a, b),
        None => (path, ""),
    }
}

fn file_url(url: &Url) -> Option<Result<Location>> {
    if url.scheme() != "file" {
        return None;
    }
    Some((|| {
        no_query(url)?;
        match url.host_str() {
            None | Some("") | Some("localhost") => {}
            Some(_) => {
                return Err(Error::invalid_input(
                    "file:// URLs name no host; write file:///absolute/path",
                ))
            }
        }
        let path = url
            .to_file_path()
            .map_err(|_| Error::invalid_input("not a usable file:// path"))?;
        let path = path
            .to_str()
            .ok_or_else(|| Error::invalid_input("the path is not valid UTF-8"))?;
        let mut loc = Location::local(path);
        loc.form = "file-url".into();
        Ok(loc)
    })())
}

fn s3_url(url: &Url) -> Option<Result<Location>> {
    match url.scheme() {
        "s3" | "s3a" => Some(bucket_and_prefix(url, "s3", "s3-url")),
        _ => None,
    }
}

fn gcs_url(url: &Url) -> Option<Result<Location>> {
    (url.scheme() == "gs").then(|| bucket_and_prefix(url, "gs", "gcs-url"))
}

fn minio_url(url: &Url) -> Option<Result<Location>> {
    let http = match url.scheme() {
        "minio" => "http",
        "minios" => "https",
        _ => return None,
    };
    Some((|| {
        no_query(url)?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| {
            Error::invalid_input("minio:// needs a host: minio://host:port/bucket/")
        })?;
        let endpoint = match url.port() {
            Some(p) => format!("{http}://{host}:{p}"),
            None => format!("{http}://{host}"),
        };
        let (bucket, rest) = first_segment(url.path());
        let mut loc = Location::new("minio", "minio-url");
        loc.endpoint = Some(endpoint);
        loc.bucket = Some(validate_bucket(bucket, "bucket")?);
        loc.path = normalise_prefix(rest)?;
        Ok(loc)
    })())
}

fn azure_url(url: &Url) -> Option<Result<Location>> {
    match url.scheme() {
        "az" => Some(bucket_and_prefix(url, "az", "azure-url").map(|mut l| {
            l.form = "az-url".into();
            l
        })),
        "azure" => Some((|| {
            no_query(url)?;
            let account = validate_bucket(url.host_str().unwrap_or_default(), "storage account")?;
            let (container, rest) = first_segment(url.path());
            let mut loc = Location::new("az", "azure-url");
            loc.account = Some(account);
            loc.bucket = Some(validate_bucket(container, "container")?);
            loc.path = normalise_prefix(rest)?;
            Ok(loc)
        })()),
        _ => None,
    }
}

fn abfs_url(url: &Url) -> Option<Result<Location>> {
    if !matches!(url.scheme(), "abfs" | "abfss") {
        return None;
    }
    Some((|| {
        no_query(url)?;
        // abfss://<container>@<account>.dfs.core.windows.net/<folder>/: the container is the
        // URL's user part (the only form where a user part is not a credential).
        let host = url.host_str().unwrap_or_default();
        let account = host.strip_suffix(".dfs.core.windows.net").ok_or_else(|| {
            Error::invalid_input(
                "abfs URLs look like abfss://<container>@<account>.dfs.core.windows.net/<folder>/",
            )
        })?;
        let mut loc = Location::new("az", "abfs-url");
        loc.account = Some(validate_bucket(account, "storage account")?);
        loc.bucket = Some(validate_bucket(url.username(), "container")?);
        loc.path = normalise_prefix(url.path())?;
        Ok(loc)
    })())
}

fn https_like(url: &Url) -> bool {
    matches!(url.scheme(), "https" | "http")
}

fn s3_https(url: &Url) -> Option<Result<Location>> {
    if !https_like(url) {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let service = host.strip_suffix(".amazonaws.com")?;
    // Forms: s3 | s3.<region> | s3-<region> | s3.dualstack.<region>, optionally preceded by "<bucket>."
    let labels: Vec<&str> = service.split('.').collect();
    let s3_at = labels
        .iter()
        .position(|l| *l == "s3" || l.starts_with("s3-"))?;
    Some((|| {
        no_query(url)?;
        let virtual_bucket = labels[..s3_at].join(".");
        let after: Vec<&str> = labels[s3_at + 1..]
            .iter()
            .copied()
            .filter(|l| *l != "dualstack")
            .collect();
        let region = if let Some(r) = labels[s3_at].strip_prefix("s3-") {
            Some(r.to_string())
        } else {
            after.first().map(|r| r.to_string())
        };
        let mut loc = Location::new("s3", "s3-https");
        loc.region = region;
        if virtual_bucket.is_empty() {
            let (bucket, rest) = first_segment(url.path());
            loc.form = "s3-https-path-style".into();
            loc.bucket = Some(validate_bucket(bucket, "bucket")?);
            loc.path = normalise_prefix(rest)?;
            loc.options
                .insert("s3.addressing".to_string(), "path".to_string());
        } else {
            loc.form = "s3-https-virtual-hosted".into();
            loc.bucket = Some(validate_bucket(&virtual_bucket, "bucket")?);
            loc.path = normalise_prefix(url.path())?;
            loc.options
                .insert("s3.addressing".to_string(), "virtual".to_string());
        }
        Ok(loc)
    })())
}

fn gcs_https(url: &Url) -> Option<Result<Location>> {
    if !https_like(url) {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    if host != "storage.googleapis.com" && host != "storage.cloud.google.com" {
        return None;
    }
    Some((|| {
        no_query(url)?;
        let (bucket, rest) = first_segment(url.path());
        let mut loc = Location::new("gs", "gcs-https");
        loc.bucket = Some(validate_bucket(bucket, "bucket")?);
        loc.path = normalise_prefix(rest)?;
        Ok(loc)
    })())
}

fn azure_https(url: &Url) -> Option<Result<Location>> {
    if !https_like(url) {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let account = host
        .strip_suffix(".blob.core.windows.net")
        .or_else(|| host.strip_suffix(".dfs.core.windows.net"))?
        .to_string();
    Some((|| {
        let (container, rest) = first_segment(url.path());
        let mut loc = Location::new("az", "azure-https");
        loc.account = Some(validate_bucket(&account, "storage account")?);
        loc.bucket = Some(validate_bucket(container, "container")?);
        loc.path = normalise_prefix(rest)?;
        if let Some(query) = url.query().filter(|q| !q.is_empty()) {
            if !query.contains("sig=") {
                return Err(Error::invalid_input(
                    "the URL's query is not a SAS token (no `sig=`); remove it",
                ));
            }
            loc.set_secret("az.sas", Secret::new(query));
        }
        Ok(loc)
    })())
}

fn plugin_url(url: &Url) -> Option<Result<Location>> {
    if https_like(url) {
        return None;
    }
    let scheme = url.scheme().to_ascii_lowercase();
    Some((|| {
        no_query(url)?;
        let mut loc = Location::new(scheme.clone(), "plugin-url");
        if let Some(host) = url.host_str().filter(|h| !h.is_empty()) {
            loc.bucket = Some(validate_bucket(host, "bucket")?);
        }
        if let Some(port) = url.port() {
            loc.endpoint = Some(format!("{}:{port}", url.host_str().unwrap_or_default()));
        }
        loc.path = normalise_prefix(url.path())?;
        Ok(loc)
    })())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    struct Row {
        input: &'static str,
        scheme: &'static str,
        bucket: Option<&'static str>,
        path: &'static str,
        form: &'static str,
    }

    const fn row(
        input: &'static str,
        scheme: &'static str,
        bucket: Option<&'static str>,
        path: &'static str,
        form: &'static str,
    ) -> Row {
        Row {
            input,
            scheme,
            bucket,
            path,
            form,
        }
    }

    #[test]
    fn table_of_forms() {
        let rows = [
            row(
                "./examples/backup",
                "file",
                None,
                "./examples/backup",
                "local-path",
            ),
            row("/var/backups", "file", None, "/var/backups", "local-path"),
            row(
                "relative dir/with space",
                "file",
                None,
                "relative dir/with space",
                "local-path",
            ),
            row(
                "file:///var/backups/m",
                "file",
                None,
                "/var/backups/m",
                "file-url",
            ),
            row("file://localhost/tmp/x", "file", None, "/tmp/x", "file-url"),
            row(
                "s3://bkt/backup/nightly/",
                "s3",
                Some("bkt"),
                "backup/nightly/",
                "s3-url",
            ),
            row(
                "s3://bkt/backup/nightly",
                "s3",
                Some("bkt"),
                "backup/nightly/",
                "s3-url",
            ),
            row("s3a://bkt", "s3", Some("bkt"), "", "s3-url"),
            row("s3://bkt/a%20b/", "s3", Some("bkt"), "a b/", "s3-url"),
            row(
                "minio://127.0.0.1:9000/bkt/backup/",
                "minio",
                Some("bkt"),
                "backup/",
                "minio-url",
            ),
            row(
                "minios://minio.local/bkt",
                "minio",
                Some("bkt"),
                "",
                "minio-url",
            ),
            row("gs://bkt/folder/", "gs", Some("bkt"), "folder/", "gcs-url"),
            row("az://cont/folder/", "az", Some("cont"), "folder/", "az-url"),
            row(
                "azure://acct/cont/folder",
                "az",
                Some("cont"),
                "folder/",
                "azure-url",
            ),
            row(
                "https://bkt.s3.us-west-2.amazonaws.com/folder/",
                "s3",
                Some("bkt"),
                "folder/",
                "s3-https-virtual-hosted",
            ),
            row(
                "https://s3.eu-central-1.amazonaws.com/bkt/folder/",
                "s3",
                Some("bkt"),
                "folder/",
                "s3-https-path-style",
            ),
            row(
                "https://s3.amazonaws.com/bkt/f/",
                "s3",
                Some("bkt"),
                "f/",
                "s3-https-path-style",
            ),
            row(
                "https://my.dotted.bkt.s3-us-east-2.amazonaws.com/f",
                "s3",
                Some("my.dotted.bkt"),
                "f/",
                "s3-https-virtual-hosted",
            ),
            row(
                "https://storage.googleapis.com/bkt/folder/",
                "gs",
                Some("bkt"),
                "folder/",
                "gcs-https",
            ),
            row(
                "https://storage.cloud.google.com/bkt/folder/",
                "gs",
                Some("bkt"),
                "folder/",
                "gcs-https",
            ),
            row(
                "https://acct.blob.core.windows.net/cont/folder/",
                "az",
                Some("cont"),
                "folder/",
                "azure-https",
            ),
            row(
                "abfss://cont@acct.dfs.core.windows.net/f/",
                "az",
                Some("cont"),
                "f/",
                "abfs-url",
            ),
            row(
                "vendorx://bkt/folder/",
                "vendorx",
                Some("bkt"),
                "folder/",
                "plugin-url",
            ),
        ];
        for r in rows {
            let loc = parse_location(r.input).unwrap_or_else(|e| panic!("{}: {e}", r.input));
            assert_eq!(loc.scheme, r.scheme, "{}", r.input);
            assert_eq!(loc.bucket.as_deref(), r.bucket, "{}", r.input);
            assert_eq!(loc.path, r.path, "{}", r.input);
            assert_eq!(loc.form, r.form, "{}", r.input);
        }
    }

    #[test]
    fn plugin_urls_display_as_they_parse() {
        for input in [
            "vendorx://bkt/folder/",
            "webdav://127.0.0.1:8080/dav/backups/",
            "cdir:///tmp/store/",
        ] {
            let loc = parse_location(input).unwrap();
            assert_eq!(loc.to_string(), input);
            assert_eq!(parse_location(&loc.to_string()).unwrap(), loc);
        }
    }

    #[test]
    fn regions_endpoints_and_accounts() {
        let l = parse_location("https://bkt.s3.us-west-2.amazonaws.com/x/").unwrap();
        assert_eq!(l.region.as_deref(), Some("us-west-2"));
        let l = parse_location("https://s3.amazonaws.com/bkt/x/").unwrap();
        assert_eq!(l.region, None);
        let l = parse_location("minio://127.0.0.1:9000/bkt/").unwrap();
        assert_eq!(l.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let l = parse_location("minios://h:443/bkt/").unwrap();
        assert_eq!(l.endpoint.as_deref(), Some("https://h:443"));
        let l = parse_location("azure://acct/cont/").unwrap();
        assert_eq!(l.account.as_deref(), Some("acct"));
    }

    #[test]
    fn sas_query_is_kept_secret() {
        let l = parse_location("https://acct.blob.core.windows.net/c/f/?sv=2022&sig=SECRETSIG")
            .unwrap();
        assert_eq!(l.secrets["az.sas"].expose(), "sv=2022&sig=SECRETSIG");
        assert!(!l.to_string().contains("SECRETSIG"));
        assert!(!format!("{l:?}").contains("SECRETSIG"));
    }

    #[test]
    fn hostile_inputs_are_refused_without_echoing_secrets() {
        let bad = [
            "",
            "s3://bkt/../etc/",
            "s3://bkt/a/%2e%2e/b",
            "s3://bkt/a//b/",
            "s3://bkt/a%00b",
            "s3://bkt:9000/x",
            "s3:///x",
            "s3://bkt/x?versionId=3",
            "s3://bkt/x#frag",
            "https://AKIAXXX:wJalrSECRET@s3.amazonaws.com/bkt/",
            "https://example.com/bkt/",
            "https://acct.blob.core.windows.net/c/f/?notasas=1",
            "gs://b%ffad/x",
            "gs://bad bucket/x",
            "a\0b",
            "minio:///bkt/",
        ];
        for input in bad {
            let err = parse_location(input).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{input:?}");
            let text = err.to_string();
            assert!(!text.contains("wJalrSECRET"), "{text}");
        }
        let long = format!("s3://bkt/{}/", "x".repeat(5000));
        assert!(parse_location(&long).is_err());
    }
}
