//! Typed plugin options shared by command-line flags, environment variables and URLs.
//!
//! A plugin declares its options as [`OptionSpec`]s (namespace, name, help, environment
//! variables, kind). Front ends turn them into flags: `--<ns>-<name>` for both sides,
//! `--src-<ns>-<name>` / `--dst-<ns>-<name>` for one side, and read the environment: the
//! plugin's conventional variables (e.g. `AWS_REGION`) for both sides, `FERRY_SRC_<VAR>` /
//! `FERRY_DST_<VAR>` for one side. [`apply_options`] records them on a [`Location`]:
//! explicit values (flags) in `options`/`secrets`, environment values in `defaults`/`secrets`.
//! Precedence, highest first: side flag, shared flag, what the URL says, side environment,
//! shared environment.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::location::Location;
use crate::redact::Secret;

/// What kind of value an option takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OptionKind {
    /// A plain value.
    Value,
    /// A switch without a value (`true` when given).
    Flag,
    /// A secret value: never displayed, logged or serialised.
    Secret,
}

/// One option a plugin understands.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct OptionSpec {
    /// Namespace, shared by plugins using the same options (e.g. `s3` for s3 and minio).
    pub namespace: &'static str,
    /// Name, snake_case (e.g. `access_key_id`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    /// Environment variables read for both sides, in order of preference.
    pub env: &'static [&'static str],
    /// What it takes.
    pub kind: OptionKind,
}

/// Which side of a copy a location is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Where backups are read.
    Source,
    /// Where they are written.
    Destination,
}

impl Side {
    /// `src` or `dst`, as used in flag names.
    pub fn flag_prefix(self) -> &'static str {
        match self {
            Side::Source => "src",
            Side::Destination => "dst",
        }
    }
    /// `FERRY_SRC_` or `FERRY_DST_`, as used in environment variable names.
    pub fn env_prefix(self) -> &'static str {
        match self {
            Side::Source => "FERRY_SRC_",
            Side::Destination => "FERRY_DST_",
        }
    }
}

impl OptionSpec {
    /// An option of any kind.
    pub const fn new(
        namespace: &'static str,
        name: &'static str,
        help: &'static str,
        env: &'static [&'static str],
        kind: OptionKind,
    ) -> OptionSpec {
        OptionSpec {
            namespace,
            name,
            help,
            env,
            kind,
        }
    }

    /// A plain-value option.
    pub const fn value(
        ns: &'static str,
        name: &'static str,
        help: &'static str,
        env: &'static [&'static str],
    ) -> OptionSpec {
        OptionSpec::new(ns, name, help, env, OptionKind::Value)
    }

    /// A secret option.
    pub const fn secret(
        ns: &'static str,
        name: &'static str,
        help: &'static str,
        env: &'static [&'static str],
    ) -> OptionSpec {
        OptionSpec::new(ns, name, help, env, OptionKind::Secret)
    }

    /// A switch (no value, no environment variable).
    pub const fn switch(ns: &'static str, name: &'static str, help: &'static str) -> OptionSpec {
        OptionSpec::new(ns, name, help, &[], OptionKind::Flag)
    }

    /// The key under which the value is stored on a [`Location`]: `<namespace>.<name>`.
    pub fn key(&self) -> String {
        format!("{}.{}", self.namespace, self.name)
    }

    /// The flag name without dashes: `s3-endpoint`, or `src-s3-endpoint` for one side.
    pub fn flag(&self, side: Option<Side>) -> String {
        let base = format!("{}-{}", self.namespace, self.name.replace('_', "-"));
        match side {
            Some(s) => format!("{}-{base}", s.flag_prefix()),
            None => base,
        }
    }

    /// The environment variables for one side: `FERRY_SRC_<VAR>` for each of [`Self::env`],
    /// and `FERRY_SRC_<NS>_<NAME>`.
    pub fn side_env(&self, side: Side) -> Vec<String> {
        let mut vars: Vec<String> = self
            .env
            .iter()
            .map(|v| format!("{}{v}", side.env_prefix()))
            .collect();
        vars.push(format!(
            "{}{}_{}",
            side.env_prefix(),
            self.namespace.to_ascii_uppercase(),
            self.name.to_ascii_uppercase()
        ));
        vars
    }
}

/// Records options on `location`: explicit values from `explicit(spec)` (flags; `None` when not
/// given), then environment values from `env(name)` where nothing explicit was given.
pub fn apply_options(
    location: &mut Location,
    specs: &[OptionSpec],
    side: Option<Side>,
    explicit: impl Fn(&OptionSpec) -> Option<String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<()> {
    for spec in specs {
        let key = spec.key();
        if let Some(value) = explicit(spec) {
            match spec.kind {
                OptionKind::Secret => location.set_secret(&key, Secret::new(value)),
                _ => {
                    location.options.insert(key.clone(), value);
                }
            }
            continue;
        }
        let mut names: Vec<String> = Vec::new();
        if let Some(side) = side {
            names.extend(spec.side_env(side));
        }
        names.extend(spec.env.iter().map(|s| s.to_string()));
        if let Some(value) = names.iter().find_map(|n| env(n).filter(|v| !v.is_empty())) {
            match spec.kind {
                OptionKind::Secret => {
                    if !location.secrets.contains_key(&key) {
                        location.set_secret(&key, Secret::new(value));
                    }
                }
                _ => {
                    location.defaults.insert(key, value);
                }
            }
        }
    }
    Ok(())
}

/// The options of one plugin namespace on a location: explicit values (flags, URL) first, then
/// environment defaults.
#[derive(Debug, Clone, Copy)]
pub struct PluginOptions<'a> {
    location: &'a Location,
    namespace: &'static str,
}

impl<'a> PluginOptions<'a> {
    /// The `namespace` options of `location`.
    pub fn new(location: &'a Location, namespace: &'static str) -> Self {
        PluginOptions {
            location,
            namespace,
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}.{name}", self.namespace)
    }

    fn flag_name(&self, name: &str) -> String {
        format!("--{}-{}", self.namespace, name.replace('_', "-"))
    }

    /// A value: explicit first, then the environment; empty values count as absent.
    pub fn value(&self, name: &str) -> Option<&'a str> {
        let key = self.key(name);
        self.location
            .option(&key)
            .or_else(|| self.location.default_option(&key))
            .filter(|v| !v.is_empty())
    }

    /// A switch (`false` when not given).
    pub fn flag(&self, name: &str) -> Result<bool> {
        match self.value(name) {
            Some(v) => parse_bool(&self.flag_name(name), v),
            None => Ok(false),
        }
    }

    /// A secret.
    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.location.secret(&self.key(name)).cloned()
    }

    /// A number of seconds, or `default`.
    pub fn seconds(&self, name: &str, default: u64) -> Result<std::time::Duration> {
        match self.value(name) {
            None => Ok(std::time::Duration::from_secs(default)),
            Some(v) => v
                .parse::<u64>()
                .map(std::time::Duration::from_secs)
                .map_err(|_| {
                    Error::invalid_input(format!(
                        "{} takes seconds, not {v:?}",
                        self.flag_name(name)
                    ))
                }),
        }
    }
}

/// Parses a boolean option value (`true/false/1/0/yes/no/on/off`).
pub fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(Error::invalid_input(format!(
            "option {key} takes true or false, not {value:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptionSpec] = &[
        OptionSpec {
            namespace: "s3",
            name: "region",
            help: "",
            env: &["AWS_REGION", "AWS_DEFAULT_REGION"],
            kind: OptionKind::Value,
        },
        OptionSpec {
            namespace: "s3",
            name: "secret_access_key",
            help: "",
            env: &["AWS_SECRET_ACCESS_KEY"],
            kind: OptionKind::Secret,
        },
    ];

    #[test]
    fn names() {
        assert_eq!(SPECS[1].flag(None), "s3-secret-access-key");
        assert_eq!(
            SPECS[1].flag(Some(Side::Destination)),
            "dst-s3-secret-access-key"
        );
        assert_eq!(
            SPECS[0].side_env(Side::Source),
            vec![
                "FERRY_SRC_AWS_REGION",
                "FERRY_SRC_AWS_DEFAULT_REGION",
                "FERRY_SRC_S3_REGION"
            ]
        );
    }

    #[test]
    fn precedence_flags_then_side_env_then_env() {
        let env = |n: &str| match n {
            "AWS_REGION" => Some("eu-west-1".to_string()),
            "FERRY_DST_AWS_SECRET_ACCESS_KEY" => Some("dst-secret".to_string()),
            "AWS_SECRET_ACCESS_KEY" => Some("shared-secret".to_string()),
            _ => None,
        };
        let mut l = Location::parse("s3://b/p/").unwrap();
        apply_options(&mut l, SPECS, Some(Side::Destination), |_| None, env).unwrap();
        assert_eq!(l.defaults["s3.region"], "eu-west-1");
        assert_eq!(l.secrets["s3.secret_access_key"].expose(), "dst-secret");
        let mut l = Location::parse("s3://b/p/").unwrap();
        apply_options(
            &mut l,
            SPECS,
            Some(Side::Source),
            |s| (s.name == "region").then(|| "us-east-2".to_string()),
            env,
        )
        .unwrap();
        assert_eq!(l.options["s3.region"], "us-east-2");
        assert_eq!(l.secrets["s3.secret_access_key"].expose(), "shared-secret");
        assert!(!format!("{l:?}").contains("secret\""));
    }
}
