//! Ctrl-C and SIGTERM cancel the running command cleanly.

use ferry_core::CancellationToken;

/// A token cancelled on the first SIGINT or SIGTERM.
pub fn cancel_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let on_int = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("ferry: interrupted; stopping cleanly (in-flight writes are discarded)…");
            on_int.cancel();
        }
    });
    #[cfg(unix)]
    {
        let on_term = token.clone();
        tokio::spawn(async move {
            use tokio::signal::unix::{signal, SignalKind};
            if let Ok(mut term) = signal(SignalKind::terminate()) {
                if term.recv().await.is_some() {
                    eprintln!("ferry: terminated; stopping cleanly…");
                    on_term.cancel();
                }
            }
        });
    }
    token
}
