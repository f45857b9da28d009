//! The process's memory handed back to the system after a burst: glibc's
//! allocator keeps what was freed in its arenas for reuse, so a client that
//! made the engine hold a gigabyte (cursors, a large result) would leave the
//! resident size there after it left. [`give_back`] asks the allocator to
//! return its free pages (`malloc_trim`), at most once a second (calls in
//! between are folded into one at the end of that second); it is called
//! when a PostgreSQL client leaves. Elsewhere than glibc it does nothing.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// When memory was last given back, in ms since the epoch.
static LAST: AtomicI64 = AtomicI64::new(0);

/// A give-back is scheduled.
static PENDING: AtomicBool = AtomicBool::new(false);

/// Returns the allocator's free memory to the system, now or (within a
/// second of the last time) at the end of that second. Needs a tokio runtime.
pub fn give_back() {
    if PENDING.swap(true, Ordering::AcqRel) {
        return;
    }
    let wait = (LAST.load(Ordering::Relaxed) + 1000 - crate::time::now_millis()).clamp(0, 1000);
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(wait as u64)).await;
        PENDING.store(false, Ordering::Release);
        LAST.store(crate::time::now_millis(), Ordering::Relaxed);
        let _ = tokio::task::spawn_blocking(trim).await;
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks the allocator's own free lists; it
    // takes no pointer and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
