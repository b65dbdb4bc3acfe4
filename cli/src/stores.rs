//! Opening the stores a command needs: the registry of plugins, then the location's plugin.

use std::sync::Arc;

use ferry_core::{Error, Location, Registry, Result, Side, Sink, Source};
use ferry_jobs::JobStore;

use crate::Context;

/// The registry: built-in plugins, then the vendor plugins named by `--plugin` (`flags`),
/// `FERRY_PLUGIN_PATH` and the per-user plugin folder.
pub fn registry(flags: &[std::path::PathBuf]) -> Result<Arc<Registry>> {
    let mut registry = Registry::with_builtins()?;
    crate::plugin_loading::load_plugins(&mut registry, flags)?;
    Ok(Arc::new(registry))
}

/// Parses `input` and applies the storage options of `side`, naming the argument (`source`,
/// `destination`, …) in any error.
pub fn parse(context: &Context, side: Option<Side>, role: &str, input: &str) -> Result<Location> {
    let mut location = Location::parse(input).map_err(|e| e.context(format!("the {role}")))?;
    context.flags.configure(&mut location, side)?;
    Ok(location)
}

/// What names the source: a location argument or milvus-backup's configuration.
#[derive(Debug, Clone)]
pub enum SourceSpec {
    /// A path or URL.
    Location(String),
    /// milvus-backup's backup.yaml.
    MilvusBackupConfig(std::path::PathBuf),
}

impl SourceSpec {
    /// Splits `SOURCE DESTINATION` (or only `DESTINATION` with a configuration file).
    pub fn with_destination(
        locations: &[String],
        config: Option<&std::path::Path>,
    ) -> Result<(SourceSpec, String)> {
        match (config, locations) {
            (Some(c), [dest]) => Ok((SourceSpec::MilvusBackupConfig(c.to_path_buf()), dest.clone())),
            (None, [src, dest]) => Ok((SourceSpec::Location(src.clone()), dest.clone())),
            (Some(_), _) => Err(Error::invalid_input(
                "with --milvus-backup-config give only the DESTINATION: the source comes from the configuration",
            )),
            (None, _) => Err(Error::invalid_input("give a SOURCE and a DESTINATION")),
        }
    }

    /// A single location (inspect).
    pub fn single(
        location: Option<&String>,
        config: Option<&std::path::Path>,
    ) -> Result<SourceSpec> {
        match (location, config) {
            (Some(l), None) => Ok(SourceSpec::Location(l.clone())),
            (None, Some(c)) => Ok(SourceSpec::MilvusBackupConfig(c.to_path_buf())),
            (Some(_), Some(_)) => Err(Error::invalid_input(
                "give either a LOCATION or --milvus-backup-config, not both",
            )),
            (None, None) => Err(Error::invalid_input(
                "give a LOCATION (or --milvus-backup-config FILE)",
            )),
        }
    }
}

/// The location named by `spec`, with the storage options of `side` applied.
pub fn spec_location(context: &Context, side: Option<Side>, spec: &SourceSpec) -> Result<Location> {
    match spec {
        SourceSpec::Location(input) => parse(context, side, "source", input),
        SourceSpec::MilvusBackupConfig(path) => {
            let storage = ferry_core::milvus_config::read_backup_storage(path)?;
            let mut location = storage
                .to_location()
                .map_err(|e| e.context(format!("the source in {}", path.display())))?;
            context.flags.configure(&mut location, side)?;
            tracing::info!(location = %location, "source from the milvus-backup configuration");
            Ok(location)
        }
    }
}

/// Opens the source named by `spec`.
pub async fn open_source_spec(
    context: &Context,
    side: Option<Side>,
    spec: &SourceSpec,
) -> Result<Arc<dyn Source>> {
    let location = spec_location(context, side, spec)?;
    open_source_at(context, "source", &location).await
}

/// Opens a source at an already parsed location.
pub async fn open_source_at(
    context: &Context,
    role: &str,
    location: &Location,
) -> Result<Arc<dyn Source>> {
    context
        .registry
        .open_source(location)
        .await
        .map_err(|e| e.context(format!("the {role}")))
}

/// Opens a source for reading.
pub async fn open_source(
    context: &Context,
    side: Option<Side>,
    role: &str,
    input: &str,
) -> Result<Arc<dyn Source>> {
    let location = parse(context, side, role, input)?;
    context
        .registry
        .open_source(&location)
        .await
        .map_err(|e| e.context(format!("the {role}")))
}

/// Opens a destination at an already parsed location: one opening, which writes and (through
/// [`Sink::reader`]) reads the destination back.
pub async fn open_destination_at(context: &Context, location: Location) -> Result<Arc<dyn Sink>> {
    context
        .registry
        .open_sink(&location)
        .await
        .map_err(|e| e.context("the destination"))
}

/// Opens the job store of the context's state directory (`--state-dir`, `FERRY_STATE_DIR`,
/// else the per-user state folder) and marks the jobs of dead processes interrupted.
pub fn open_job_store(context: &Context) -> Result<Arc<JobStore>> {
    let dir = context
        .state_dir
        .clone()
        .or_else(JobStore::default_dir)
        .ok_or_else(|| {
            Error::invalid_input("no state directory: set --state-dir, FERRY_STATE_DIR or HOME")
        })?;
    let store = JobStore::open(&dir)?;
    store.reap_dead()?;
    Ok(Arc::new(store))
}
