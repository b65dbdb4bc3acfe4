//! The built-in plugins linked into `ferry`. Each plugin registers itself with `inventory`; a
//! plugin crate the binary never references is dropped by the linker and its registration
//! silently disappears, so every built-in is referenced here, once.

/// Makes sure every built-in plugin is linked.
pub fn link() {
    #[cfg(feature = "plugin-local")]
    ferry_plugin_local::link();
    #[cfg(feature = "plugin-s3")]
    ferry_plugin_s3::link();
    #[cfg(feature = "plugin-azure")]
    ferry_plugin_azure::link();
    #[cfg(feature = "plugin-gcs")]
    ferry_plugin_gcs::link();
}
