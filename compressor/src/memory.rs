//! A budget for the memory that codecs may use at once.
//!
//! Some codecs hold a whole image while they work (Lepton keeps every coefficient of a
//! progressive JPEG), so a handful of large photos compressed side by side could take far more
//! memory than the service should. Each encode-and-verify reserves what its codec estimates it
//! needs and waits while the budget is spent; a job larger than the whole budget waits until it
//! can run alone, so it is slowed down, never refused.

use std::sync::{Condvar, Mutex, PoisonError};

/// Makes the allocator hand every block of 1 MiB or more back to the system when it is freed.
/// glibc raises that threshold after the first large block is freed and then keeps each
/// decoded image's memory in the arena of the thread that decoded it: four downloads of a
/// 15-megapixel progressive JPEG at once left the service at 1.4 GB instead of 200 MB.
/// Call it first thing, before any thread starts.
pub fn release_large_blocks() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Default budget (128 MiB): two large baseline JPEGs, or one large progressive one, at a time.
pub const DEFAULT_MEMORY_BUDGET: u64 = 128 << 20;

#[derive(Debug)]
pub struct MemoryBudget {
    total: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Memory held from a [`MemoryBudget`] until dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl MemoryBudget {
    pub fn new(total: u64) -> Self {
        Self {
            total: total.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    /// Blocks until `bytes` (at most the whole budget) can be held, then holds them.
    pub fn reserve(&self, bytes: u64) -> Reservation<'_> {
        let bytes = bytes.min(self.total);
        let used = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        let mut used = self
            .freed
            .wait_while(used, |used| *used + bytes > self.total)
            .unwrap_or_else(PoisonError::into_inner);
        *used += bytes;
        Reservation {
            budget: self,
            bytes,
        }
    }

    /// Bytes held now.
    pub fn in_use(&self) -> u64 {
        *self.used.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut used = self
            .budget
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *used -= self.bytes;
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn reservations_wait_for_room_and_oversized_ones_run_alone() {
        let budget = Arc::new(MemoryBudget::new(100));
        let first = budget.reserve(70);
        let waiting = {
            let budget = Arc::clone(&budget);
            std::thread::spawn(move || {
                let _second = budget.reserve(500); // clamped to the whole budget
                budget.in_use()
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !waiting.is_finished(),
            "a reservation past the budget must wait"
        );
        assert_eq!(budget.in_use(), 70);
        drop(first);
        assert_eq!(waiting.join().unwrap(), 100);
        assert_eq!(budget.in_use(), 0);
        let _a = budget.reserve(40);
        let _b = budget.reserve(60);
        assert_eq!(budget.in_use(), 100);
    }
}
