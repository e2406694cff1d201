//! Giving freed memory back to the operating system after a large answer.
//!
//! A view of a whole floor (a full snapshot, a `/metrics` scrape, a floor snapshot at
//! 100,000 agents) allocates tens of megabytes on a blocking-pool thread and frees them
//! when the answer is written. glibc's allocator keeps that memory in the thread's arena
//! for good: measured with `bench scale`, resident memory rose from 0.58 GiB loaded to
//! 0.68 GiB after a few scrapes and views, and a full snapshot then peaked at 1.27× the
//! loaded daemon (BENCHMARKS.md, session 6). Trimming after such answers returns it.
//!
//! Also transparent huge pages for the heap ([`use_huge_pages`]), the memory hints of
//! passes over many scattered records ([`prefetch`]), and the buffers that large answers
//! are written into, kept for the next ([`take_buffer`]).

/// Answers at least this large are worth a trim (their views were large).
pub const LARGE_ANSWER_BYTES: usize = 1 << 20;

/// After an answer of `bytes` was built (its view dropped): gives the freed memory back
/// when the answer was large.
pub fn after_answer(bytes: usize) {
    if bytes >= LARGE_ANSWER_BYTES {
        release_free_memory();
    }
}

/// Makes the allocator map every block of [`LARGE_ANSWER_BYTES`] or more on its own and
/// unmap it when freed (glibc's `M_MMAP_THRESHOLD`, set once at start). By default glibc
/// raises that threshold to the size of the largest mapped block freed so far (up to
/// 32 MB): after the first floor snapshot (15 MB) every later one, and its gzip form, came
/// from the arenas of whichever threads wrote and sent them, and freed there stayed
/// resident: after 500 dashboard panels polled for 30 s, the daemon held 0.25 GiB more
/// than loaded (BENCHMARKS.md, session 10). The trim after an answer cannot help: the
/// answer's bytes are freed after it, when the last client has been sent them. Costs
/// nothing the trim did not already: it gave those pages back too, so the next answer
/// faulted them in again.
pub fn map_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: mallopt takes no pointers and only sets the allocator's own parameters,
    // under its lock; setting the threshold is valid at any time.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, LARGE_ANSWER_BYTES as libc::c_int);
    }
}

/// glibc's tunable that makes its allocator ask for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)` on what it maps and on each growth of the main arena).
const HUGE_PAGES_TUNABLE: &str = "glibc.malloc.hugetlb";

/// Set in the environment of the process [`use_huge_pages`] started again.
const REEXECUTED: &str = "FLOORWATCH_HUGE_PAGES_EXEC";

/// Runs this process again, in place, with glibc's allocator asking for transparent huge
/// pages, unless `GLIBC_TUNABLES` already says what to do about them (so
/// `GLIBC_TUNABLES=glibc.malloc.hugetlb=0` turns this off). Call it first in `main`, before
/// any thread starts; it returns when nothing was done or the exec failed.
///
/// Why: a floor of 100,000 agents is about a gigabyte of small records (each agent's
/// state, timeline, roster record and log) read in the order events arrive, so nearly
/// every event waits on a page-table walk as well as a cache miss. Most distributions
/// give huge pages only to memory that asks (`/sys/kernel/mm/transparent_hugepage/enabled`
/// is `madvise`), and glibc reads its tunables only when a process starts, hence the exec.
/// Measured (BENCHMARKS.md, session 23): the morning's 3M-event replay of a 100,000-agent
/// floor took 4–37% less time (median 15%) in each of 7 paired rounds, for 2% more
/// resident memory.
///
/// The exec keeps the process id, arguments, environment (plus the tunable) and open
/// descriptors. Under valgrind, which follows no exec by default, set the tunable first.
pub fn use_huge_pages() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        #[allow(unsafe_code)]
        // SAFETY: getauxval reads the auxiliary vector the kernel gave the process; it
        // takes no pointers and is safe at any time.
        let secure = unsafe { libc::getauxval(libc::AT_SECURE) } != 0;
        // Once only: a glibc older than 2.35 drops a tunable it does not know from the
        // variable, and glibc drops the variable in a set-user-id process, so the tunable
        // itself cannot tell that the exec was done.
        if secure || std::env::var_os(REEXECUTED).is_some() {
            return;
        }
        let with = match std::env::var_os("GLIBC_TUNABLES") {
            None => format!("{HUGE_PAGES_TUNABLE}=1"),
            Some(t) => match t.to_str() {
                Some("") => format!("{HUGE_PAGES_TUNABLE}=1"),
                Some(t) if !t.contains(HUGE_PAGES_TUNABLE) => format!("{t}:{HUGE_PAGES_TUNABLE}=1"),
                // Already decided (or not ours to parse).
                _ => return,
            },
        };
        let mut args = std::env::args_os();
        let argv0 = args.next().unwrap_or_else(|| "floorwatch".into());
        let Ok(exe) = std::env::current_exe() else { return };
        let err = std::process::Command::new(exe)
            .arg0(argv0)
            .args(args)
            .env("GLIBC_TUNABLES", with)
            .env(REEXECUTED, "1")
            .exec();
        // Only reached when the exec failed (the binary was replaced on disk, say): run on
        // as started, with 4 KiB pages.
        eprintln!("floorwatch: running without huge pages (re-exec failed: {err})");
    }
}

/// Whether this process's allocator asks for transparent huge pages ([`use_huge_pages`]).
pub fn huge_pages() -> bool {
    cfg!(all(target_os = "linux", target_env = "gnu"))
        && std::env::var("GLIBC_TUNABLES").is_ok_and(|t| {
            t.split(':').any(|kv| kv == format!("{HUGE_PAGES_TUNABLE}=1") || kv == format!("{HUGE_PAGES_TUNABLE}=2"))
        })
}

/// Returns the allocator's free memory to the operating system (glibc's `malloc_trim`,
/// which since 2.8 also releases whole free pages inside every arena). Costs a walk over
/// the free lists: call it after large answers, not per request. A no-op where the
/// allocator is not glibc's.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    // SAFETY: malloc_trim takes no pointers and only touches the allocator's own state,
    // under its locks; it is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// At most this many bytes of answer buffers are kept for later answers ([`give_buffer`]):
/// a floor snapshot's and a scrape's, each with the half written on a second thread, at
/// 100,000 agents (16, 8, 12 and 6 MB).
pub const KEPT_BUFFER_BYTES: usize = 64 << 20;

/// Answer buffers given back, their pages resident (largest last).
static KEPT: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

/// An empty buffer with room for `capacity` bytes: for a large one, the smallest kept
/// buffer with that room if there is one. Writing a 16 MB answer into fresh memory took a
/// page fault per 4 KiB (7,500 per floor snapshot at 100,000 agents, a sixth of its CPU:
/// BENCHMARKS.md, session 11), since blocks that large are mapped on their own and given
/// back when freed ([`map_large_blocks`]); a kept buffer's pages are already there.
pub fn take_buffer(capacity: usize) -> Vec<u8> {
    if capacity >= LARGE_ANSWER_BYTES {
        let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = kept.iter().position(|b| b.capacity() >= capacity) {
            let mut b = kept.remove(i);
            b.clear();
            return b;
        }
    }
    Vec::with_capacity(capacity)
}

/// Gives a buffer back for a later [`take_buffer`]: kept if it is large and the kept ones
/// stay within [`KEPT_BUFFER_BYTES`] (the smallest kept ones make way for a larger one),
/// else freed.
pub fn give_buffer(b: Vec<u8>) {
    let cap = b.capacity();
    if !(LARGE_ANSWER_BYTES..=KEPT_BUFFER_BYTES).contains(&cap) {
        return;
    }
    let mut kept = KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut total: usize = kept.iter().map(Vec::capacity).sum::<usize>() + cap;
    while total > KEPT_BUFFER_BYTES && kept.first().is_some_and(|k| k.capacity() < cap) {
        total -= kept.remove(0).capacity();
    }
    if total <= KEPT_BUFFER_BYTES {
        let at = kept.partition_point(|k| k.capacity() < cap);
        kept.insert(at, b);
    }
}

/// The bytes kept for later answers now.
pub fn kept_buffer_bytes() -> usize {
    KEPT.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter().map(Vec::capacity).sum()
}

/// `bytes` as shared bytes whose buffer is given back ([`give_buffer`]) when the last
/// reference to them is dropped (an answer's, once every client sharing it was sent it).
pub fn returned_bytes(bytes: Vec<u8>) -> bytes::Bytes {
    bytes::Bytes::from_owner(Returned(bytes))
}

struct Returned(Vec<u8>);

impl AsRef<[u8]> for Returned {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Returned {
    fn drop(&mut self) {
        give_buffer(std::mem::take(&mut self.0));
    }
}

/// Asks the processor to bring the cache line holding `p` into its caches, without waiting
/// for it (`prefetcht0`): a pass over many records that each point elsewhere in the heap
/// (a view's visit of every scheduled agent reads its roster record, then that record's
/// schedule and log) names the lines a few records ahead, so that their cache misses
/// overlap instead of stalling the pass one by one. A hint only: `p` is never read
/// through, may dangle or be null, and nothing changes but timing. A no-op off x86_64.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: `prefetcht0` is a hint that never faults and reads nothing into the
    // program's state, whatever the address (the SSE it needs is in x86_64's baseline).
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// [`prefetch`] of every cache line of the `bytes` from `p`.
#[inline(always)]
pub fn prefetch_bytes<T>(p: *const T, bytes: usize) {
    let p = p.cast::<u8>();
    let mut off = 0;
    while off < bytes {
        prefetch(p.wrapping_add(off));
        off += 64;
    }
    // The last line, when `p` is not at a line's start.
    prefetch(p.wrapping_add(bytes.saturating_sub(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pool is process-wide: its tests run one at a time.
    static POOL_TESTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn empty_pool() {
        KEPT.lock().unwrap().clear();
    }

    /// A large buffer given back is the one taken next (the same allocation, emptied);
    /// a small one is never kept, and one larger than asked for serves a smaller need.
    #[test]
    fn a_large_buffer_is_kept_and_taken_again() {
        let _one = POOL_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        empty_pool();
        let mut b = take_buffer(2 * LARGE_ANSWER_BYTES);
        assert!(b.capacity() >= 2 * LARGE_ANSWER_BYTES);
        b.extend_from_slice(b"an answer");
        let at = b.as_ptr();
        give_buffer(b);
        assert!(kept_buffer_bytes() >= 2 * LARGE_ANSWER_BYTES);
        let again = take_buffer(LARGE_ANSWER_BYTES + 1);
        assert_eq!(again.as_ptr(), at, "the kept buffer");
        assert!(again.is_empty(), "emptied");
        assert_eq!(kept_buffer_bytes(), 0);
        // Too small to be worth keeping, and a need larger than any kept buffer.
        give_buffer(Vec::with_capacity(4096));
        assert_eq!(kept_buffer_bytes(), 0);
        give_buffer(again);
        let larger = take_buffer(8 * LARGE_ANSWER_BYTES);
        assert!(larger.capacity() >= 8 * LARGE_ANSWER_BYTES);
        assert!(kept_buffer_bytes() >= 2 * LARGE_ANSWER_BYTES, "the smaller one stays kept");
        empty_pool();
    }

    /// What is kept stays within its bound: smaller buffers make way for a larger one, and
    /// one larger than the bound is freed.
    #[test]
    fn kept_buffers_stay_within_the_bound() {
        let _one = POOL_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        empty_pool();
        let quarter = KEPT_BUFFER_BYTES / 4;
        for _ in 0..6 {
            give_buffer(Vec::with_capacity(quarter));
            assert!(kept_buffer_bytes() <= KEPT_BUFFER_BYTES);
        }
        assert_eq!(KEPT.lock().unwrap().len(), 4);
        give_buffer(Vec::with_capacity(KEPT_BUFFER_BYTES / 2 + 1));
        assert!(kept_buffer_bytes() <= KEPT_BUFFER_BYTES, "{}", kept_buffer_bytes());
        assert!(KEPT.lock().unwrap().iter().any(|b| b.capacity() > KEPT_BUFFER_BYTES / 2), "the larger one is kept");
        give_buffer(Vec::with_capacity(KEPT_BUFFER_BYTES + 1));
        assert!(kept_buffer_bytes() <= KEPT_BUFFER_BYTES);
        empty_pool();
    }

    /// Returned bytes read as the buffer did, and give it back once the last clone drops.
    #[test]
    fn returned_bytes_give_their_buffer_back_when_dropped() {
        let _one = POOL_TESTS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        empty_pool();
        let mut b = take_buffer(LARGE_ANSWER_BYTES);
        b.extend_from_slice(b"{\"now\":1}");
        let at = b.as_ptr();
        let bytes = returned_bytes(b);
        let shared = bytes.clone();
        assert_eq!(&shared[..], b"{\"now\":1}");
        drop(bytes);
        assert_eq!(kept_buffer_bytes(), 0, "still shared");
        drop(shared);
        let again = take_buffer(LARGE_ANSWER_BYTES);
        assert_eq!(again.as_ptr(), at);
        empty_pool();
    }

    /// Freed memory is given back: resident memory after dropping 256 MB of touched
    /// blocks and trimming is well below what it was with them.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn a_trim_gives_freed_memory_back() {
        let rss = || {
            let s = std::fs::read_to_string("/proc/self/status").unwrap();
            let l = s.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
            l.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() * 1024
        };
        // Many small blocks (below the mmap threshold), so that they live in the arena.
        let blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![i as u8; 4096]).collect();
        let with = rss();
        // Keep every 64th block, so that the arena's top is not free and only the
        // middle's pages can go back.
        let kept: Vec<Vec<u8>> = blocks.into_iter().step_by(64).collect();
        release_free_memory();
        let after = rss();
        assert!(kept.len() == 1024);
        assert!(after + (128 << 20) < with, "resident {with} with the blocks, {after} after the trim");
    }
}
