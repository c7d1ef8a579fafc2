//! The one tokio runtime every connection shares: started on first use, with a small fixed
//! number of workers (no thread per peer), and shut down when the extension unloads.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::runtime::{Builder, Handle, Runtime};

/// Two workers: enough to keep DTLS/SCTP work off each other's back on the 2-core machines
/// games run on, and a fixed cost whatever the number of connections.
pub const WORKER_THREADS: usize = 2;

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

fn lock() -> std::sync::MutexGuard<'static, Option<Runtime>> {
    RUNTIME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The shared runtime's handle, starting the runtime if this is the first use.
pub fn handle() -> std::io::Result<Handle> {
    let mut slot = lock();
    if let Some(runtime) = slot.as_ref() {
        return Ok(runtime.handle().clone());
    }
    let runtime = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .thread_name("webrtc-rs")
        .enable_all()
        .build()?;
    let handle = runtime.handle().clone();
    *slot = Some(runtime);
    Ok(handle)
}

/// Spawns a task on the shared runtime. Returns `false` (and drops the task) when the runtime
/// could not be started, which the caller reports as an error.
pub fn spawn<F>(task: F) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    match handle() {
        Ok(handle) => {
            handle.spawn(task);
            true
        }
        Err(error) => {
            log::error!("webrtc_rs: cannot start the tokio runtime: {error}");
            false
        }
    }
}

/// Stops the runtime: running tasks are dropped at their next await point, which closes
/// their sockets. Connections still alive afterwards see their commands go nowhere.
pub fn shutdown(grace: Duration) {
    let runtime = lock().take();
    if let Some(runtime) = runtime {
        runtime.shutdown_timeout(grace);
    }
}

/// Whether the runtime is currently running (for tests and footprint checks).
pub fn is_running() -> bool {
    lock().is_some()
}
