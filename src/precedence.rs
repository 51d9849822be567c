//! Delivery before intake when the CPU is short: in a `serve` process that also
//! delivers, the HTTP server's worker threads run at a higher nice value (a lower
//! scheduling weight) than the delivery workers' threads.
//!
//! When the machine has CPU to spare this changes nothing. When it has not, the
//! scheduler gives the delivery workers the larger share, so what the relay has accepted
//! leaves before it accepts more: the intake answers more slowly instead of the queue
//! growing until its messages expire (docs/decisions.md, "Delivery before intake when
//! the CPU is short").
//!
//! Linux keeps a nice value per thread (elsewhere this leaves every thread alone), and
//! raising one's own needs no privilege. Hand-written around `rustix` (a safe wrapper of
//! `setpriority(2)`, already in the dependency tree) because the whole of it is two
//! system calls.

use std::sync::atomic::{AtomicBool, Ordering};

/// What an HTTP worker thread does to its own priority when it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpThreadPriority {
    /// The nice value to set, absolute (so that a worker thread restarted after a panic
    /// sets the same value, not one step further); `None`: leave the thread as it is.
    nice: Option<i32>,
}

/// The highest nice value Linux allows.
const LOWEST_PRIORITY: i32 = 19;

/// Set once a thread could not lower its priority, so that the warning is given once.
static WARNED: AtomicBool = AtomicBool::new(false);

impl HttpThreadPriority {
    /// Leaves HTTP threads as they are: a process that does not deliver (`worker`'s
    /// probes, an API-only `serve`), or `increment` 0.
    pub const UNCHANGED: HttpThreadPriority = HttpThreadPriority { nice: None };

    /// HTTP threads `increment` nice steps below the calling thread (the one building
    /// the server, whose value every other thread of the process inherited), when this
    /// process also `delivers`. Only on Linux: elsewhere `setpriority` on the calling
    /// "process" would lower the whole process, delivery included.
    pub fn for_process(delivers: bool, increment: u8) -> HttpThreadPriority {
        if !cfg!(target_os = "linux") || !delivers || increment == 0 {
            return HttpThreadPriority::UNCHANGED;
        }
        let base = current_nice().unwrap_or(0);
        HttpThreadPriority {
            nice: Some((base + i32::from(increment)).min(LOWEST_PRIORITY)),
        }
    }

    /// The nice value HTTP threads take, if any.
    pub fn nice(&self) -> Option<i32> {
        self.nice
    }

    /// Applies it to the calling thread (an HTTP worker thread, as it builds its
    /// application). A refusal (a sandbox that filters the call) is logged once and
    /// otherwise ignored: the relay works the same, only without the precedence.
    pub fn apply_to_current_thread(&self) {
        let Some(nice) = self.nice else { return };
        if let Err(e) = rustix::process::setpriority_process(None, nice) {
            if !WARNED.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    error = %e,
                    "could not lower the HTTP threads' priority (GAPRELAY_HTTP_NICE): intake and delivery share the CPU equally"
                );
            }
        }
    }
}

/// The calling thread's nice value.
fn current_nice() -> Option<i32> {
    rustix::process::getpriority_process(None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_process_that_delivers_lowers_its_http_threads() {
        assert_eq!(HttpThreadPriority::for_process(false, 5).nice(), None);
        assert_eq!(HttpThreadPriority::for_process(true, 0).nice(), None);
        let base = current_nice().expect("this thread's nice value");
        assert_eq!(
            HttpThreadPriority::for_process(true, 5).nice(),
            Some((base + 5).min(19))
        );
        assert_eq!(HttpThreadPriority::for_process(true, 19).nice(), Some(19));
    }

    #[test]
    fn a_thread_takes_the_value_once_however_often_it_applies_it() {
        // In a thread of its own, so that no other test's thread is changed.
        std::thread::spawn(|| {
            let priority = HttpThreadPriority::for_process(true, 3);
            let want = priority.nice().expect("lowered");
            priority.apply_to_current_thread();
            priority.apply_to_current_thread();
            assert_eq!(current_nice(), Some(want));
        })
        .join()
        .expect("the thread");
    }
}
