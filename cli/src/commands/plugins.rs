//! `ferry plugins`: the storage plugins this ferry knows.

use ferry_core::{PluginOrigin, Result};

use crate::output::{human, print_json};
use crate::{exit, stores, Context, PluginsAction, PluginsArgs};

/// Runs the conformance kit against a location.
async fn check(context: &Context, location: &str, json: bool) -> Result<u8> {
    let parsed = stores::parse(context, None, "location", location)?;
    let sink = context
        .registry
        .open_sink(&parsed)
        .await
        .map_err(|e| e.context("the location"))?;
    sink.prepare().await?;
    let source = stores::open_source_at(context, "location", &parsed).await?;
    let results = ferry_testkit::run_all(&ferry_testkit::Pair { source, sink }).await;
    let passed = results.iter().all(|r| r.passed);
    if json {
        print_json(
            &serde_json::json!({"location": parsed.to_string(), "passed": passed, "checks": results}),
        );
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                vec![
                    r.name.to_string(),
                    if r.passed {
                        "pass".into()
                    } else {
                        "FAIL".into()
                    },
                    format!("{:.2} s", r.seconds),
                    r.error.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            human::table(&["CHECK", "RESULT", "TIME", "ERROR"], &rows)
        );
        println!(
            "{}",
            if passed {
                "All checks passed."
            } else {
                "Some checks FAILED."
            }
        );
    }
    Ok(if passed {
        exit::OK
    } else {
        exit::code_for(ferry_core::ErrorKind::VerificationFailed)
    })
}

/// Runs the command.
pub async fn run(context: &Context, args: PluginsArgs) -> Result<u8> {
    if let Some(PluginsAction::Check { location, output }) = &args.action {
        return check(context, location, output.json).await;
    }
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
