//! Printing: JSON documents, human tables, errors, progress.

pub mod human;
pub mod progress;

use ferry_core::Error;
use serde::Serialize;

/// Prints `value` as one pretty JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(e) => eprintln!("ferry: cannot serialise the report: {e}"),
    }
}

/// A JSON document carrying an error.
#[derive(Serialize)]
struct ErrorDocument {
    error: ferry_core::ErrorReport,
}

/// Prints an error: as one line of JSON on stdout with `--json` (it may follow
/// newline-delimited events), else as text on stderr.
pub fn print_error(error: &Error, json: bool) {
    if json {
        match serde_json::to_string(&ErrorDocument {
            error: error.to_report(),
        }) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("ferry: cannot serialise the error: {e}"),
        }
    } else {
        eprintln!("ferry: error: {error}");
    }
}
