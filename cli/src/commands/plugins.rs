//! `ferry plugins`: the storage plugins this ferry knows.

use ferry_core::{PluginOrigin, Result};

use crate::output::{human, print_json};
use crate::{exit, Context, PluginsArgs};

/// Runs the command.
pub async fn run(context: &Context, args: PluginsArgs) -> Result<u8> {
    let plugins = context.registry.plugins();
    if args.output.json {
        print_json(&plugins);
        return Ok(exit::OK);
    }
    let rows: Vec<Vec<String>> = plugins
        .iter()
        .map(|p| {
            vec![
                p.name.clone(),
                p.version.clone(),
                p.schemes.join(", "),
                p.capabilities.names().join(", "),
                match &p.origin {
                    PluginOrigin::Builtin => "built-in".to_string(),
                    PluginOrigin::Loaded { path, abi_version } => {
                        format!("loaded (ABI {abi_version}) from {path}")
                    }
                },
                p.description.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        human::table(
            &[
                "NAME",
                "VERSION",
                "SCHEMES",
                "CAPABILITIES",
                "ORIGIN",
                "DESCRIPTION"
            ],
            &rows
        )
    );
    Ok(exit::OK)
}
