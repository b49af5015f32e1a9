//! Runs independent jobs (bundles of a build, chunks of a payload) on a few threads. Results
//! come back in job order, so the output does not depend on scheduling; the first error stops
//! the remaining jobs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Applies `work` to every job on up to `threads` threads; results in job order.
pub fn run<J: Sync, T: Send, E: Send>(
    jobs: &[J],
    threads: usize,
    work: impl Fn(&J) -> Result<T, E> + Sync,
) -> Result<Vec<T>, E> {
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<T, E>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    let threads = threads.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(job) = jobs.get(index) else { break };
                    let result = work(job);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    results.lock().unwrap_or_else(|e| e.into_inner())[index] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    // An error wins; otherwise every job ran.
    let mut out = Vec::with_capacity(results.len());
    let mut first_error = None;
    for result in results {
        match result {
            Some(Ok(value)) => out.push(value),
            Some(Err(error)) => {
                first_error.get_or_insert(error);
            }
            None => {}
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(out),
    }
}

/// Threads to use: the machine's parallelism.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_job_order_and_reports_an_error() {
        let jobs: Vec<u32> = (0..50).collect();
        assert_eq!(
            run(&jobs, 4, |j| Ok::<_, ()>(j * 2)).unwrap(),
            jobs.iter().map(|j| j * 2).collect::<Vec<_>>()
        );
        assert_eq!(
            run(&jobs, 3, |j| if *j == 7 { Err(*j) } else { Ok(*j) }),
            Err(7)
        );
        assert_eq!(
            run(&[] as &[u32], 4, |j| Ok::<_, ()>(*j)).unwrap(),
            Vec::<u32>::new()
        );
    }
}
