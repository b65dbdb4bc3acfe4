//! Exit codes (documented in docs/cli.md).

use ferry_core::ErrorKind;

/// Success.
pub const OK: u8 = 0;
/// Command-line usage error (clap's own code).
#[cfg(test)]
pub const USAGE: u8 = 2;

/// The exit code for an error kind.
pub fn code_for(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Internal => 1,
        ErrorKind::InvalidInput => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::PermissionDenied => 5,
        ErrorKind::InvalidBackup => 6,
        ErrorKind::Conflict => 7,
        ErrorKind::VerificationFailed | ErrorKind::Integrity => 8,
        ErrorKind::Transient | ErrorKind::StorageFull => 9,
        ErrorKind::Unsupported => 10,
        ErrorKind::Interrupted => 130,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_per_family_and_nonzero() {
        let kinds = [
            ErrorKind::Internal,
            ErrorKind::InvalidInput,
            ErrorKind::NotFound,
            ErrorKind::PermissionDenied,
            ErrorKind::InvalidBackup,
            ErrorKind::Conflict,
            ErrorKind::VerificationFailed,
            ErrorKind::Transient,
            ErrorKind::Unsupported,
            ErrorKind::Interrupted,
        ];
        let codes: std::collections::BTreeSet<u8> = kinds.iter().map(|k| code_for(*k)).collect();
        assert_eq!(codes.len(), kinds.len());
        assert!(!codes.contains(&OK) && !codes.contains(&USAGE));
    }
}
