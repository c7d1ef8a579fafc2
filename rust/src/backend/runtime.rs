//! The one tokio runtime every connection shares: started on first use, with one worker
//! thread (no thread per peer), and shut down when the extension unloads.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::runtime::{Builder, Handle, Runtime};
use tokio::sync::Notify;

/// One worker, whatever the number of connections. A connection's work is a chain of tasks
/// waking one another (the connection's task, webrtc-rs's driver); with a second
/// worker tokio wakes the parked one for nearly every hand-off, and those context switches
/// cost more than the second thread gains (docs/benchmark.md).
pub const WORKER_THREADS: usize = 1;

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Connection tasks that have not finished closing yet.
static LIVE_CONNECTIONS: AtomicUsize = AtomicUsize::new(0);

/// A one-way flag tasks can wait on: once raised it stays raised, and every waiter, present
/// or future, goes on.
pub struct Latch {
    raised: AtomicBool,
    notify: Notify,
}

impl Latch {
    pub const fn new() -> Self {
        Self {
            raised: AtomicBool::new(false),
            notify: Notify::const_new(),
        }
    }

    pub fn raise(&self) {
        self.raised.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Resolves once the latch is raised.
    pub async fn raised(&self) {
        loop {
            // Registered before the check, so a raise between the two is not missed.
            let notified = self.notify.notified();
            if self.raised.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

impl Default for Latch {
    fn default() -> Self {
        Self::new()
    }
}

/// Raised when the extension unloads: connections whose Godot objects were never freed (a
/// reference cycle, a global) finish as freed ones do.
static UNLOADING: Latch = Latch::new();

/// Resolves once the extension is unloading (see [`shutdown`]).
pub async fn unloading() {
    UNLOADING.raised().await
}

/// Held by a connection's task for its whole life (dropped even if the task is cancelled),
/// so [`shutdown`] can let connections say goodbye to their peers before stopping.
pub struct LiveConnection(());

impl LiveConnection {
    pub fn new() -> Self {
        LIVE_CONNECTIONS.fetch_add(1, Ordering::AcqRel);
        Self(())
    }
}

impl Default for LiveConnection {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LiveConnection {
    fn drop(&mut self) {
        if LIVE_CONNECTIONS.fetch_sub(1, Ordering::AcqRel) == 1 {
            release_memory_when_idle();
        }
    }
}

/// How long after the last connection closed the heap is trimmed: webrtc-rs's own tasks
/// (drivers, timers) finish and free their buffers shortly after `close()` returns.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const TRIM_DELAY: Duration = Duration::from_secs(1);

/// Gives freed heap back to the OS once no connection is left (also called when a lobby
/// listener's last connection closes). glibc keeps what the network threads freed in their
/// arenas, so resident memory stays near its peak after connections close; `malloc_trim`
/// returns it. Other platforms' allocators need no help, or have no such
/// call.
pub(crate) fn release_memory_when_idle() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if let Ok(handle) = Handle::try_current() {
        handle.spawn(async {
            tokio::time::sleep(TRIM_DELAY).await;
            if live_connections() == 0 {
                // SAFETY: malloc_trim only consults and updates glibc's allocator state,
                // which it locks itself; it is safe to call from any thread at any time.
                unsafe { libc::malloc_trim(0) };
            }
        });
    }
}

/// How many connection tasks are still running.
pub fn live_connections() -> usize {
    LIVE_CONNECTIONS.load(Ordering::Acquire)
}

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

/// Stops the runtime. Every connection still running is first given up to `grace` to
/// deliver what the game sent and close, as a freed one does (the game is quitting), so its
/// peers get the last messages and see the channels close at once instead of noticing the
/// silence seconds later; then running tasks are dropped at their next await point, which
/// closes their sockets.
pub fn shutdown(grace: Duration) {
    UNLOADING.raise();
    let deadline = Instant::now() + grace;
    while live_connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    let runtime = lock().take();
    if let Some(runtime) = runtime {
        runtime.shutdown_timeout(grace);
    }
}
