//! Vendor plugins: shared libraries speaking the C ABI of `ferry-plugin-abi`, loaded at run
//! time with `libloading` and registered next to the built-ins.
//!
//! - [`library`] opens a file and checks magic, ABI version and table size before using it;
//! - [`calls`] wraps each table function into a call returning a Ferry [`ferry_core::Error`];
//! - [`store`] turns an opened plugin store into a [`ferry_core::Source`] and [`ferry_core::Sink`];
//! - [`discovery`] finds plugin files: `--plugin`, `FERRY_PLUGIN_PATH`, the per-user folder.

mod calls;
pub mod discovery;
pub mod library;
pub mod store;

use std::path::Path;
use std::sync::Arc;

use futures::future::BoxFuture;

use ferry_core::error::Result;
use ferry_core::location::Location;
use ferry_core::registry::{PluginFactory, PluginInfo, PluginOrigin, Registry};
use ferry_core::sink::Sink;
use ferry_core::source::Source;

pub use discovery::{plugin_files, user_plugin_dir, PluginFile, PluginFileOrigin};
pub use library::PluginLibrary;
pub use store::ExternalStore;

struct ExternalFactory {
    library: Arc<PluginLibrary>,
}

impl PluginFactory for ExternalFactory {
    fn open_source(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Source>>> {
        let library = self.library.clone();
        Box::pin(async move {
            Ok(Arc::new(ExternalStore::open(library, location).await?) as Arc<dyn Source>)
        })
    }

    fn open_sink(&self, location: Location) -> BoxFuture<'static, Result<Arc<dyn Sink>>> {
        let library = self.library.clone();
        Box::pin(async move {
            Ok(Arc::new(ExternalStore::open(library, location).await?) as Arc<dyn Sink>)
        })
    }
}

/// What the registry records about a loaded library.
pub fn plugin_info(library: &PluginLibrary) -> PluginInfo {
    PluginInfo {
        name: library.name().to_string(),
        version: library.version().to_string(),
        schemes: library.schemes().to_vec(),
        description: library.description().to_string(),
        capabilities: library.capabilities(),
        options: Vec::new(),
        origin: PluginOrigin::Loaded {
            path: library.path().display().to_string(),
            abi_version: ferry_plugin_abi::FERRY_PLUGIN_ABI_VERSION,
        },
    }
}

/// Loads the plugin at `path` and registers it. Refuses a file that is not a Ferry plugin of
/// this ABI version, and a plugin whose name or schemes are taken (built-ins keep theirs).
pub fn load_into(registry: &mut Registry, path: &Path) -> Result<PluginInfo> {
    let library = Arc::new(PluginLibrary::open(path)?);
    let info = plugin_info(&library);
    registry.register(info.clone(), Arc::new(ExternalFactory { library }))?;
    Ok(info)
}
