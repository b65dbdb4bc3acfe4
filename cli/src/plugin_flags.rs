//! Storage options as flags, generated from the options the plugins declare: `--<ns>-<name>`
//! for every side, `--src-…`/`--dst-…` for one side of a copy.

use clap::{Arg, ArgAction, ArgMatches, Command};
use ferry_core::options::{apply_options, OptionKind, OptionSpec, Side};
use ferry_core::{Location, Result};

/// Subcommands that read and write two locations (and so get per-side flags).
const TWO_SIDED: &[&str] = &["migrate", "verify"];
/// Subcommands that read one location.
const ONE_SIDED: &[&str] = &["inspect"];

fn arg_for(spec: &OptionSpec, side: Option<Side>) -> Arg {
    let id = spec.flag(side);
    let mut help = spec.help.to_string();
    if let Some(side) = side {
        help = format!(
            "{} only: {help}",
            match side {
                Side::Source => "Source",
                Side::Destination => "Destination",
            }
        );
    } else if !spec.env.is_empty() {
        help = format!("{help} [env: {}]", spec.env.join(", "));
    }
    if spec.kind == OptionKind::Secret {
        help.push_str(" (secret: prefer the environment variable)");
    }
    let arg = Arg::new(id.clone())
        .long(id)
        .help(help)
        .help_heading(if side.is_some() {
            "Per-side storage options"
        } else {
            "Storage options"
        })
        .hide(side.is_some());
    match spec.kind {
        OptionKind::Flag => arg.action(ArgAction::SetTrue),
        _ => arg.action(ArgAction::Set).value_name("VALUE").num_args(1),
    }
}

/// Adds the plugins' option flags to the subcommands that take locations.
pub fn augment(mut command: Command, specs: &[OptionSpec]) -> Command {
    for name in TWO_SIDED.iter().chain(ONE_SIDED) {
        let two_sided = TWO_SIDED.contains(name);
        command = command.mut_subcommand(*name, |mut sub| {
            for spec in specs {
                sub = sub.arg(arg_for(spec, None));
                if two_sided {
                    sub = sub
                        .arg(arg_for(spec, Some(Side::Source)))
                        .arg(arg_for(spec, Some(Side::Destination)));
                }
            }
            if two_sided && !specs.is_empty() {
                sub = sub.after_long_help(
                    "Every storage option also exists per side: --src-<option> for the source only, --dst-<option> for the destination only (e.g. --dst-s3-endpoint). Environment: the plugin's variables (e.g. AWS_REGION) apply to both sides; FERRY_SRC_<VAR> / FERRY_DST_<VAR> to one side.",
                );
            }
            sub
        });
    }
    // `ferry jobs resume` re-opens stored locations: it takes per-side options too (secrets).
    command = command.mut_subcommand("jobs", |jobs| {
        jobs.mut_subcommand("resume", |mut sub| {
            for spec in specs {
                sub = sub
                    .arg(arg_for(spec, None))
                    .arg(arg_for(spec, Some(Side::Source)))
                    .arg(arg_for(spec, Some(Side::Destination)));
            }
            sub
        })
    });
    command = command.mut_subcommand("plugins", |plugins| {
        plugins.mut_subcommand("check", |mut sub| {
            for spec in specs {
                sub = sub.arg(arg_for(spec, None));
            }
            sub
        })
    });
    command
}

/// The option flags given to one subcommand.
#[derive(Debug, Clone, Default)]
pub struct PluginFlags {
    matches: Option<ArgMatches>,
    specs: Vec<OptionSpec>,
}

impl PluginFlags {
    /// Wraps the subcommand's matches.
    pub fn new(matches: Option<ArgMatches>, specs: Vec<OptionSpec>) -> Self {
        PluginFlags { matches, specs }
    }

    fn value(&self, spec: &OptionSpec, side: Option<Side>) -> Option<String> {
        let m = self.matches.as_ref()?;
        let id = spec.flag(side);
        if !m.ids().any(|i| i.as_str() == id) {
            return None;
        }
        match spec.kind {
            OptionKind::Flag => m.get_flag(&id).then(|| "true".to_string()),
            _ => m.get_one::<String>(&id).cloned(),
        }
    }

    /// The explicit value for `spec` on `side`: the side's flag, else the shared flag.
    pub fn explicit(&self, spec: &OptionSpec, side: Option<Side>) -> Option<String> {
        side.and_then(|s| self.value(spec, Some(s)))
            .or_else(|| self.value(spec, None))
    }

    /// Applies flags and environment to a location of the given side.
    pub fn configure(&self, location: &mut Location, side: Option<Side>) -> Result<()> {
        apply_options(
            location,
            &self.specs,
            side,
            |spec| self.explicit(spec, side),
            |name| std::env::var(name).ok(),
        )
    }
}
