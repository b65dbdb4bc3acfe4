//! What a plugin's stores can do. The engine chooses by capabilities, never by plugin name.

use serde::Serialize;

/// The capabilities a plugin declares for its stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Can list a prefix recursively.
    pub list: bool,
    /// Can read whole objects.
    pub read: bool,
    /// Can read byte ranges.
    pub range_read: bool,
    /// Can write objects.
    pub write: bool,
    /// Can delete objects.
    pub delete: bool,
    /// Writes are atomic: a failed write never leaves a partial object under its final key.
    pub atomic_write: bool,
    /// Can copy an object from a source of the same plugin and copy domain without streaming it.
    pub server_side_copy: bool,
    /// Listings report a CRC32C per object.
    pub reports_crc32c: bool,
    /// Listings report an MD5 per object.
    pub reports_md5: bool,
}

impl Capabilities {
    /// Nothing at all; a starting point for `const` declarations.
    pub const NONE: Capabilities = Capabilities {
        list: false,
        read: false,
        range_read: false,
        write: false,
        delete: false,
        atomic_write: false,
        server_side_copy: false,
        reports_crc32c: false,
        reports_md5: false,
    };

    /// The names of the capabilities that are set, for display.
    pub fn names(&self) -> Vec<&'static str> {
        let all = [
            (self.list, "list"),
            (self.read, "read"),
            (self.range_read, "range-read"),
            (self.write, "write"),
            (self.delete, "delete"),
            (self.atomic_write, "atomic-write"),
            (self.server_side_copy, "server-side-copy"),
            (self.reports_crc32c, "crc32c"),
            (self.reports_md5, "md5"),
        ];
        all.into_iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| n)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_flags() {
        let c = Capabilities {
            list: true,
            write: true,
            ..Capabilities::NONE
        };
        assert_eq!(c.names(), vec!["list", "write"]);
        assert!(Capabilities::NONE.names().is_empty());
    }
}
