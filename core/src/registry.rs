//! The plugin registry: built-in plugins register a [`PluginDescriptor`] with `inventory`;
//! loaded plugins (vendor libraries) are added at run time. Schemes map to exactly one plugin.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;

use crate::capabilities::Capabilities;
use crate::error::{Error, Result};
use crate::location::Location;
use crate::options::OptionSpec;
use crate::sink::Sink;
use crate::source::Source;

/// Opens a source at a location.
pub type OpenSourceFn = fn(Location) -> BoxFuture<'static, Result<Arc<dyn Source>>>;
/// Opens a sink at a location.
pub type OpenSinkFn = fn(Location) -> BoxFuture<'static, Result<Arc<dyn Sink>>>;

/// What a built-in plugin submits to the registry with `inventory::submit!`.
pub struct PluginDescriptor {
    /// Plugin name, e.g. `local`.
    pub name: &'static str,
    /// Plugin version (usually `env!("CARGO_PKG_VERSION")`).
    pub version: &'static str,
    /// Canonical schemes served (see [`crate::location`]), e.g. `["file"]`.
    pub schemes: &'static [&'static str],
    /// One line describing the plugin.
    pub description: &'static str,
    /// What the plugin's stores can do.
    pub capabilities: Capabilities,
    /// Options the plugin understands (flags, environment).
    pub options: &'static [OptionSpec],
    /// Opens a source.
    pub open_source: OpenSourceFn,
    /// Opens a sink.
    pub open_sink: OpenSinkFn,
}

inventory::collect!(PluginDescriptor);

/// Boxes the opening of a source, for a descriptor's `open_source`.
pub fn boxed_source<S, F>(open: F) -> BoxFuture<'static, Result<Arc<dyn Source>>>
where
    S: Source + 'static,
    F: std::future::Future<Output = Result<S>> + Send + 'static,
{
    Box::pin(async move { Ok(Arc::new(open.await?) as Arc<dyn Source>) })
}

/// Boxes the opening of a sink, for a descriptor's `open_sink`.
pub fn boxed_sink<S, F>(open: F) -> BoxFuture<'static, Result<Arc<dyn Sink>>>
where
    S: Sink + 'static,
    F: std::future::Future<Output = Result<S>> + Send + 'static,
{
    Box::pin(async move { Ok(Arc::new(open.await?) as Arc<dyn Sink>) })
}

/// Opens sources and sinks for one plugin (built-in or loaded).
pub trait PluginFactory: Send + Sync {
    /// Opens a source at `location`.
    fn open_source(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Source>>>;
    /// Opens a sink at `location`.
    fn open_sink(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Sink>>>;
}

struct BuiltinFactory {
    open_source: OpenSourceFn,
    open_sink: OpenSinkFn,
}

impl PluginFactory for BuiltinFactory {
    fn open_source(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Source>>> {
        (self.open_source)(location)
    }
    fn open_sink(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Sink>>> {
        (self.open_sink)(location)
    }
}

/// Where a plugin comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PluginOrigin {
    /// Compiled into the `ferry` binary.
    Builtin,
    /// Loaded from a shared library.
    Loaded {
        /// The library's path.
        path: String,
        /// The ABI version the library declares.
        abi_version: u32,
    },
}

/// Public facts about a registered plugin.
#[derive(Debug, Clone, Serialize)]
pub struct PluginInfo {
    /// Plugin name.
    pub name: String,
    /// Plugin version.
    pub version: String,
    /// Schemes it serves.
    pub schemes: Vec<String>,
    /// One-line description.
    pub description: String,
    /// Capabilities.
    pub capabilities: Capabilities,
    /// Options the plugin understands.
    pub options: Vec<OptionSpec>,
    /// Built in or loaded.
    pub origin: PluginOrigin,
}

struct Entry {
    info: PluginInfo,
    factory: Arc<dyn PluginFactory>,
}

/// All plugins known to this process, by name and scheme.
pub struct Registry {
    entries: Vec<Entry>,
    by_scheme: BTreeMap<String, usize>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field(
                "plugins",
                &self
                    .entries
                    .iter()
                    .map(|e| &e.info.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Registry {
    /// An empty registry.
    pub fn empty() -> Self {
        Registry {
            entries: Vec::new(),
            by_scheme: BTreeMap::new(),
        }
    }

    /// A registry holding every built-in plugin linked into this binary, sorted by name.
    /// Two built-ins claiming one scheme is an error.
    pub fn with_builtins() -> Result<Self> {
        let mut descriptors: Vec<&PluginDescriptor> =
            inventory::iter::<PluginDescriptor>.into_iter().collect();
        descriptors.sort_by_key(|d| d.name);
        let mut registry = Registry::empty();
        for d in descriptors {
            let info = PluginInfo {
                name: d.name.to_string(),
                version: d.version.to_string(),
                schemes: d.schemes.iter().map(|s| s.to_string()).collect(),
                description: d.description.to_string(),
                capabilities: d.capabilities,
                options: d.options.to_vec(),
                origin: PluginOrigin::Builtin,
            };
            let factory = Arc::new(BuiltinFactory {
                open_source: d.open_source,
                open_sink: d.open_sink,
            });
            registry.register(info, factory)?;
        }
        Ok(registry)
    }

    /// Adds a plugin. Refuses a duplicate name or a scheme another plugin already serves.
    pub fn register(&mut self, info: PluginInfo, factory: Arc<dyn PluginFactory>) -> Result<()> {
        if let Some(existing) = self.entries.iter().find(|e| e.info.name == info.name) {
            return Err(Error::conflict(format!(
                "two plugins are named {:?} ({} and {})",
                info.name,
                describe_origin(&existing.info.origin),
                describe_origin(&info.origin)
            ))
            .with_hint("remove one of them"));
        }
        for scheme in &info.schemes {
            if let Some(&i) = self.by_scheme.get(scheme) {
                let other = &self.entries[i].info;
                return Err(Error::conflict(format!(
                    "scheme {scheme:?} is claimed by plugin {:?} ({}) and by plugin {:?} ({})",
                    other.name,
                    describe_origin(&other.origin),
                    info.name,
                    describe_origin(&info.origin)
                ))
                .with_hint("remove one of the plugins; built-in schemes cannot be taken over"));
            }
        }
        let index = self.entries.len();
        for scheme in &info.schemes {
            self.by_scheme.insert(scheme.clone(), index);
        }
        self.entries.push(Entry { info, factory });
        Ok(())
    }

    /// Every plugin, in registration order (built-ins sorted by name first).
    pub fn plugins(&self) -> Vec<PluginInfo> {
        self.entries.iter().map(|e| e.info.clone()).collect()
    }

    /// Every option of every plugin, once per `namespace.name`, sorted.
    pub fn option_specs(&self) -> Vec<OptionSpec> {
        let mut seen = BTreeMap::new();
        for e in &self.entries {
            for spec in &e.info.options {
                seen.entry(spec.key()).or_insert(*spec);
            }
        }
        seen.into_values().collect()
    }

    /// Every scheme served, sorted.
    pub fn schemes(&self) -> Vec<String> {
        self.by_scheme.keys().cloned().collect()
    }

    fn entry_for(&self, location: &Location) -> Result<&Entry> {
        match self.by_scheme.get(&location.scheme) {
            Some(&i) => Ok(&self.entries[i]),
            None => Err(Error::unsupported(format!(
                "no plugin serves the scheme {:?} (location {location})",
                location.scheme
            ))
            .with_hint(format!(
                "schemes this ferry knows: {}; vendor plugins are loaded with --plugin PATH",
                self.schemes().join(", ")
            ))),
        }
    }

    /// The plugin serving `location`.
    pub fn plugin_for(&self, location: &Location) -> Result<PluginInfo> {
        self.entry_for(location).map(|e| e.info.clone())
    }

    /// Opens a source at `location` with the plugin serving its scheme.
    pub async fn open_source(&self, location: &Location) -> Result<Arc<dyn Source>> {
        let entry = self.entry_for(location)?;
        entry.factory.open_source(location.clone()).await
    }

    /// Opens a sink at `location` with the plugin serving its scheme.
    pub async fn open_sink(&self, location: &Location) -> Result<Arc<dyn Sink>> {
        let entry = self.entry_for(location)?;
        entry.factory.open_sink(location.clone()).await
    }
}

fn describe_origin(origin: &PluginOrigin) -> String {
    match origin {
        PluginOrigin::Builtin => "built in".to_string(),
        PluginOrigin::Loaded { path, .. } => format!("loaded from {path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Never;
    impl PluginFactory for Never {
        fn open_source(&self, _: Location) -> BoxFuture<'static, Result<Arc<dyn Source>>> {
            Box::pin(async { Err(Error::unsupported("test factory")) })
        }
        fn open_sink(&self, _: Location) -> BoxFuture<'static, Result<Arc<dyn Sink>>> {
            Box::pin(async { Err(Error::unsupported("test factory")) })
        }
    }

    fn info(name: &str, schemes: &[&str], path: &str) -> PluginInfo {
        PluginInfo {
            name: name.into(),
            version: "1".into(),
            schemes: schemes.iter().map(|s| s.to_string()).collect(),
            description: String::new(),
            capabilities: Capabilities::NONE,
            options: Vec::new(),
            origin: PluginOrigin::Loaded {
                path: path.into(),
                abi_version: 1,
            },
        }
    }

    #[test]
    fn duplicate_schemes_are_refused_naming_both() {
        let mut r = Registry::empty();
        r.register(info("a", &["x"], "/lib/a.so"), Arc::new(Never))
            .unwrap();
        let err = r
            .register(info("b", &["y", "x"], "/lib/b.so"), Arc::new(Never))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("/lib/a.so") && text.contains("/lib/b.so"),
            "{text}"
        );
        assert_eq!(r.schemes(), vec!["x".to_string()]);
    }

    #[tokio::test]
    async fn unknown_scheme_lists_known_ones() {
        let mut r = Registry::empty();
        r.register(info("a", &["x"], "/lib/a.so"), Arc::new(Never))
            .unwrap();
        let loc = Location::parse("zz://bkt/p/").unwrap();
        let err = r.open_source(&loc).await.unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::Unsupported);
        assert!(err.to_string().contains("x"));
    }
}
