//! Sums over many groups of customers on several threads, with a result that does not depend
//! on the number of threads: the groups are cut into chunks of a fixed size, each chunk is
//! summed in order, and the chunk sums are added in chunk order. The threads only decide who
//! computes which chunk, so every run gives the same bits.

/// Groups per chunk: the unit of work of a thread and of the summation order.
pub const CHUNK: usize = 8192;

/// The number of threads to use for `threads` (0: one per available core).
pub fn thread_count(threads: usize) -> usize {
    if threads > 0 {
        return threads;
    }
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` applied to every chunk of `items`, the `N` sums of its results added chunk by chunk
/// in order, on up to `threads` threads (0: one per core).
pub fn chunked_sum<T, const N: usize>(items: &[T], threads: usize, f: impl Fn(&[T]) -> [f64; N] + Sync) -> [f64; N]
where
    T: Sync,
{
    let mut total = [0.0; N];
    for part in chunked_map(items, threads, f) {
        for (t, p) in total.iter_mut().zip(part) {
            *t += p;
        }
    }
    total
}

/// `f` applied to every chunk of `items`, the results in chunk order, on up to `threads`
/// threads (0: one per core).
pub fn chunked_map<T, R>(items: &[T], threads: usize, f: impl Fn(&[T]) -> R + Sync) -> Vec<R>
where
    T: Sync,
    R: Send,
{
    let chunks: Vec<&[T]> = items.chunks(CHUNK).collect();
    let workers = thread_count(threads).min(chunks.len());
    if workers <= 1 {
        return chunks.into_iter().map(f).collect();
    }
    // Worker k computes chunks k, k + workers, k + 2 workers, ...; the results are put back in
    // chunk order.
    let mut parts: Vec<Vec<(usize, R)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|k| {
                let (chunks, f) = (&chunks, &f);
                scope.spawn(move || chunks.iter().enumerate().skip(k).step_by(workers).map(|(i, c)| (i, f(c))).collect::<Vec<_>>())
            })
            .collect();
        // A worker only panics if `f` does; that panic is passed on.
        handles.into_iter().map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
    });
    let mut out: Vec<(usize, R)> = parts.drain(..).flatten().collect();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}
