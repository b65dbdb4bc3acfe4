//! `ferry`: move Milvus backups between storages, check them, and prove nothing was lost.

mod builtins;
mod commands;
mod exit;
mod output;
mod plugin_flags;
mod plugin_loading;
mod signals;
mod stores;

use std::process::ExitCode;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Move Milvus backups (folders written by `milvus-backup create`) between storages,
/// validate them, and verify that nothing was lost.
#[derive(Debug, Parser)]
#[command(name = "ferry", version, propagate_version = true)]
#[command(
    after_help = "Examples:\n  ferry inspect ./backups\n  ferry migrate ./backups/nightly ./staging\n  ferry verify ./backups/nightly ./staging\n\nLocations are folder paths or URLs (file://, s3://, minio://, gs://, az://, …).\nLogs: RUST_LOG=ferry=debug. Exit codes: see docs/cli.md."
)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// Where jobs are recorded (default: $FERRY_STATE_DIR, else $XDG_STATE_HOME/ferry, else
    /// ~/.local/state/ferry).
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<std::path::PathBuf>,

    /// Load a vendor plugin (a shared library); repeatable. Also: FERRY_PLUGIN_PATH (files or
    /// folders) and $XDG_DATA_HOME/ferry/plugins. See docs/plugins.md.
    #[arg(long = "plugin", global = true, value_name = "PATH", action = clap::ArgAction::Append)]
    plugin: Vec<std::path::PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the backups at a location, what each holds, and every problem found.
    #[command(
        after_help = "Examples:\n  ferry inspect examples/backups/real_backup_1\n  ferry inspect ./backups --deep --json"
    )]
    Inspect(InspectArgs),
    /// Validate, copy each backup to <DESTINATION>/<name>/, and verify the copy; or, when
    /// DESTINATION is a Milvus cluster (milvus://, milvuss://, a Zilliz Cloud https:// endpoint),
    /// restore the backup into it and verify it there.
    #[command(
        visible_alias = "restore",
        after_help = "Examples:\n  ferry migrate examples/backups/real_backup_1 ./migrated\n  ferry migrate ./backups ./staging --backup nightly --concurrency 32\n  ferry migrate ./backups ./staging --dry-run\n  ferry migrate ./backups/nightly milvus://10.0.0.5:19530 --milvus-storage s3://milvus-bucket/files/ --load\n\nRun the same command again after an interruption: objects already copied are skipped, and a\nrestore goes on from its journal without importing anything twice. See docs/restore.md."
    )]
    Migrate(MigrateArgs),
    /// Compare a backup with its copy: keys, sizes, checksums, collections and entities; or,
    /// when DESTINATION is a Milvus cluster, the collections, schemas, partitions and entity
    /// counts in that cluster.
    #[command(
        after_help = "Examples:\n  ferry verify examples/backups/real_backup_1 ./migrated\n  ferry verify ./backups ./staging --deep --json\n  ferry verify ./backups/nightly milvus://10.0.0.5:19530 --milvus-user root"
    )]
    Verify(VerifyArgs),
    /// List the storage plugins this ferry knows.
    #[command(after_help = "Example:\n  ferry plugins --json")]
    Plugins(PluginsArgs),
    /// Recorded migrations: list, show, resume, cancel, remove.
    #[command(
        after_help = "Examples:\n  ferry jobs list\n  ferry jobs show 3f2a\n  ferry jobs resume 3f2a\n  ferry jobs cancel 3f2a\n  ferry jobs prune --older-than 30d"
    )]
    Jobs(JobsArgs),
}

#[derive(Debug, Args)]
struct JobsArgs {
    #[command(subcommand)]
    command: JobsCommand,
}

#[derive(Debug, Subcommand)]
enum JobsCommand {
    /// Every recorded job, newest first.
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// One job: state, progress, throughput, ETA, entities per collection, error log.
    Show {
        /// Job id (a unique prefix is enough) or name.
        id: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Run an interrupted, cancelled or failed job again: copies only what is missing or
    /// changed, then verifies. Secrets come from this run's flags and environment.
    Resume {
        /// Job id (a unique prefix is enough) or name.
        id: String,
        /// No progress output.
        #[arg(short, long)]
        quiet: bool,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Stop a job running in another process (it stops cleanly, nothing partial is left).
    Cancel {
        /// Job id (a unique prefix is enough) or name.
        id: String,
        /// Seconds to wait for the job to stop.
        #[arg(long, default_value_t = 30)]
        wait: u64,
    },
    /// Remove a job that is not running.
    Rm {
        /// Job id (a unique prefix is enough) or name.
        id: String,
    },
    /// Remove finished jobs older than an age (30d, 12h, 45m).
    Prune {
        /// Age, e.g. 30d.
        #[arg(long, value_name = "AGE")]
        older_than: String,
    },
}

/// Options shared by commands that print reports.
#[derive(Debug, Args)]
struct OutputArgs {
    /// Print one JSON document on stdout and nothing else.
    #[arg(long)]
    json: bool,
}

/// Where the source is: a location argument, or milvus-backup's configuration file.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// Read the source's storage, bucket, root path and credentials from the backup.yaml that
    /// milvus-backup runs with (v1 or v2); the SOURCE argument is then left out.
    #[arg(long, value_name = "FILE")]
    milvus_backup_config: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// A backup folder, or a folder/bucket prefix holding backup folders (left out with
    /// --milvus-backup-config).
    location: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
    /// Only these backups (repeatable).
    #[arg(long = "backup", value_name = "NAME")]
    backups: Vec<String>,
    /// Also open every binlog and check row counts against the meta.
    #[arg(long)]
    deep: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// SOURCE then DESTINATION. SOURCE: a backup folder, or a root holding backup folders
    /// (left out with --milvus-backup-config). DESTINATION: where the target reads backups;
    /// each backup lands in <DESTINATION>/<name>/.
    #[arg(value_name = "SOURCE> <DESTINATION", num_args = 1..=2, required = true)]
    locations: Vec<String>,
    #[command(flatten)]
    config: ConfigArgs,
    /// Only these backups (repeatable; default: every backup found).
    #[arg(long = "backup", value_name = "NAME")]
    backups: Vec<String>,
    /// Objects copied at once (default: 16, or 64 while the objects average under 1 MiB).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: Option<u16>,
    /// Attempts per object for retryable errors.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    attempts: u32,
    /// Print the plan; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Skip the verification after copying.
    #[arg(long)]
    no_verify: bool,
    /// Check source binlogs' row counts before copying, and re-read both sides to compare bytes after.
    #[arg(long)]
    deep: bool,
    /// Replace objects that differ at the destination and delete objects the source lacks.
    #[arg(long)]
    overwrite: bool,
    /// No progress output.
    #[arg(short, long)]
    quiet: bool,
    /// A name for the job (usable in place of its id).
    #[arg(long, value_name = "NAME", conflicts_with = "no_job")]
    job_name: Option<String>,
    /// Do not record this migration as a job (no `ferry jobs` entry, no resume by id; running
    /// the same command again still skips what is already copied).
    #[arg(long)]
    no_job: bool,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// What `ferry verify` compares.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum VerifyMode {
    /// Every object's content proven.
    Content,
    /// Keys and sizes only.
    Sizes,
}

/// Which indexes a restore builds.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum IndexArg {
    /// The indexes the backup records, with their parameters.
    Backup,
    /// AUTOINDEX on every vector field with the backed-up metric.
    Auto,
    /// No index.
    None,
}

/// Options for a Milvus cluster DESTINATION (see docs/restore.md).
#[derive(Debug, Args)]
#[command(next_help_heading = "Milvus cluster destination")]
struct ClusterArgs {
    /// Where the target Milvus reads its data: its bucket (s3://bucket/<rootPath>/, minio://…,
    /// gs://…, az://…) or, for storageType local, its localStorage.path folder. Ferry copies the
    /// binlogs under ferry-restore-<backup>/ there, and removes them afterwards.
    #[arg(long, value_name = "LOCATION")]
    milvus_storage: Option<String>,
    /// Read the target's storage (common.storageType, localStorage.path, minio.*: address,
    /// bucket, rootPath, keys) from the milvus.yaml that server runs with, in place of
    /// --milvus-storage (with both, --milvus-storage is where Ferry reaches the storage and the
    /// file says how the server names it).
    #[arg(long, value_name = "FILE")]
    milvus_config: Option<std::path::PathBuf>,
    /// How the Milvus server names --milvus-storage, when it sees it under another path than
    /// Ferry does (a container with a mounted volume): for local storage its absolute path, for
    /// a bucket the key prefix.
    #[arg(long, value_name = "PATH")]
    milvus_storage_path: Option<String>,
    /// Restore only this collection (DB.NAME or NAME for the default database); repeatable.
    #[arg(long = "collection", value_name = "DB.NAME")]
    collections: Vec<String>,
    /// Restore collection FROM as TO (NAME:NEW or DB.NAME:DB2.NEW); repeatable.
    #[arg(long = "rename", value_name = "FROM:TO")]
    renames: Vec<String>,
    /// Drop collections that already exist in the cluster, then restore them.
    #[arg(long, conflicts_with = "skip_existing")]
    drop_existing: bool,
    /// Leave collections that already exist in the cluster and restore the others.
    #[arg(long)]
    skip_existing: bool,
    /// Indexes to build after the import.
    #[arg(long, value_enum, default_value = "backup")]
    index: IndexArg,
    /// Load each collection and wait until it is loaded (count(*) is then verified too).
    #[arg(long)]
    load: bool,
    /// Import requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    import_concurrency: u16,
    /// Keep the binlogs copied to the server's storage after the restore.
    #[arg(long)]
    keep_temp: bool,
    /// Milvus user (with --milvus-password).
    #[arg(long, env = "FERRY_MILVUS_USER", value_name = "USER")]
    milvus_user: Option<String>,
    /// Milvus password (prefer the environment: FERRY_MILVUS_PASSWORD).
    #[arg(
        long,
        env = "FERRY_MILVUS_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    milvus_password: Option<String>,
    /// Milvus token or Zilliz Cloud API key (prefer the environment: FERRY_MILVUS_TOKEN).
    #[arg(
        long,
        env = "FERRY_MILVUS_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    milvus_token: Option<String>,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// SOURCE then DESTINATION. SOURCE: the original, a backup folder or a root holding backup
    /// folders (left out with --milvus-backup-config). DESTINATION: the copy, the root given to
    /// `migrate` or the copied backup folder itself.
    #[arg(value_name = "SOURCE> <DESTINATION", num_args = 1..=2, required = true)]
    locations: Vec<String>,
    #[command(flatten)]
    config: ConfigArgs,
    /// Only these backups (repeatable).
    #[arg(long = "backup", value_name = "NAME")]
    backups: Vec<String>,
    /// Re-read every object on both sides and compare CRC32C of the bytes.
    #[arg(long)]
    deep: bool,
    /// What proves an object: `content` (default: a checksum both sides agree on, else a
    /// re-read and hash of both sides) or `sizes` (keys and sizes only; the report then says the
    /// contents were not compared, never "identical").
    #[arg(long, value_enum, default_value = "content")]
    verify: VerifyMode,
    #[command(flatten)]
    cluster: ClusterArgs,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct PluginsArgs {
    #[command(subcommand)]
    action: Option<PluginsAction>,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Subcommand)]
enum PluginsAction {
    /// Run the conformance kit against a location (writes and deletes objects under a
    /// `conformance-<n>/` folder there) and print a pass/fail table.
    #[command(
        after_help = "Example:\n  ferry plugins check minio://127.0.0.1:9000/scratch/ferry-check/"
    )]
    Check {
        /// A location where the kit may write and delete test objects.
        location: String,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// What every command needs: the plugins and the storage options given.
pub struct Context {
    /// The plugin registry.
    pub registry: std::sync::Arc<ferry_core::Registry>,
    /// Storage option flags of the subcommand.
    pub flags: plugin_flags::PluginFlags,
    /// `--state-dir`.
    pub state_dir: Option<std::path::PathBuf>,
}

fn main() -> ExitCode {
    builtins::link();
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let registry = match stores::registry(&plugin_loading::plugin_flags(&args)) {
        Ok(r) => r,
        Err(e) => {
            output::print_error(&e, args.iter().any(|a| a == "--json"));
            return ExitCode::from(exit::code_for(e.kind()));
        }
    };
    let specs = registry.option_specs();
    let matches = plugin_flags::augment(Cli::command(), &specs).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let sub = matches.subcommand().map(|(name, m)| {
        // `ferry jobs resume` and `ferry plugins check` take the storage flags of their own
        // subcommand.
        match (name, m.subcommand()) {
            ("jobs" | "plugins", Some((_, inner))) => inner.clone(),
            _ => m.clone(),
        }
    });
    let context = Context {
        registry,
        flags: plugin_flags::PluginFlags::new(sub, specs),
        state_dir: cli.state_dir.clone(),
    };
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferry: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let (json, result) = runtime.block_on(async {
        match cli.command {
            Command::Inspect(a) => (a.output.json, commands::inspect::run(&context, a).await),
            Command::Migrate(a) => (a.output.json, commands::migrate::run(&context, a).await),
            Command::Verify(a) => (a.output.json, commands::verify::run(&context, a).await),
            Command::Plugins(a) => {
                let json = match &a.action {
                    Some(PluginsAction::Check { output, .. }) => output.json,
                    None => a.output.json,
                };
                (json, commands::plugins::run(&context, a).await)
            }
            Command::Jobs(a) => {
                let json = match &a.command {
                    JobsCommand::List { output }
                    | JobsCommand::Show { output, .. }
                    | JobsCommand::Resume { output, .. } => output.json,
                    _ => false,
                };
                (json, commands::jobs::run(&context, a).await)
            }
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::print_error(&e, json);
            ExitCode::from(exit::code_for(e.kind()))
        }
    }
}
