//! Giving freed memory back to the operating system after a large answer.
//!
//! A view of a whole floor (a full snapshot, a `/metrics` scrape, a floor snapshot at
//! 100,000 agents) allocates tens of megabytes on a blocking-pool thread and frees them
//! when the answer is written. glibc's allocator keeps that memory in the thread's arena
//! for good: measured with `bench scale`, resident memory rose from 0.58 GiB loaded to
//! 0.68 GiB after a few scrapes and views, and a full snapshot then peaked at 1.27× the
//! loaded daemon (BENCHMARKS.md, session 6). Trimming after such answers returns it.

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

#[cfg(test)]
mod tests {
    use super::*;

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
