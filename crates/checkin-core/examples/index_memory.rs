//! Heap bytes held by the search index over a generated event:
//! `cargo run --release -p checkin-core --example index_memory [N]`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static CHUNKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator and only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size(), Ordering::Relaxed);
        CHUNKS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
        CHUNKS.fetch_sub(1, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static A: Counting = Counting;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkin.db");
    let now = chrono::Utc::now();
    {
        let mut store = checkin_core::store::Store::open_local(&path, "m", now).unwrap();
        checkin_core::demo::create_event(&mut store, n, now).unwrap();
        store.checkpoint().unwrap();
    }
    let (b0, c0, m0) = (
        LIVE.load(Ordering::Relaxed),
        CHUNKS.load(Ordering::Relaxed),
        malloc_in_use(),
    );
    let index = checkin_core::store::Store::load_search_index(&path).unwrap();
    let (b1, c1, m1) = (
        LIVE.load(Ordering::Relaxed),
        CHUNKS.load(Ordering::Relaxed),
        malloc_in_use(),
    );
    println!(
        "{n} attendees: index {:.1} MB requested in {} allocations; {:.1} MB of malloc's chunks (with their headers and rounding); {index:?}",
        (b1 - b0) as f64 / 1e6,
        c1 - c0,
        m1.saturating_sub(m0) as f64 / 1e6
    );
}

/// Bytes in chunks glibc's malloc has handed out (0 elsewhere).
fn malloc_in_use() -> usize {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    return unsafe { libc::mallinfo2() }.uordblks;
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    0
}
