//! One module per subcommand.

pub mod inspect;
pub mod jobs;
pub mod migrate;
pub mod plugins;
pub mod restore;
pub mod verify;
