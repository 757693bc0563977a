//! Decoder panics as errors: the Parquet decoders panic on some damaged pages instead of
//! returning errors, so the readers of stored data run them under [`unpanic`].

/// Readers turning panics into errors right now (see [`unpanic`]): while any is, the panic
/// hook stays silent, on every thread (DataFusion decodes on its runtime's threads).
static QUIET: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Silences the panic hook while alive.
struct Quiet;

impl Quiet {
    fn new() -> Quiet {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let report = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if QUIET.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    report(info)
                }
            }));
        });
        QUIET.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Quiet
    }
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A panic caught by [`unpanic`]: its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Panicked(pub String);

/// `f()`, or the message of its panic.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        Panicked(p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "a panic".into()))
    })
}

/// Runs `f`, turning a panic inside it into `Err` with the panic's message, without the
/// panic hook's report. The Parquet decoders panic on some damaged pages (out-of-range
/// offsets in level or value data) instead of returning errors; readers of stored data go
/// through this so that a damaged file is an error, not a crash.
pub fn unpanic<T>(f: impl FnOnce() -> T) -> Result<T, Panicked> {
    let _quiet = Quiet::new();
    caught(f)
}

/// [`unpanic`] for a future (and the tasks it waits for): every poll is caught.
pub async fn unpanic_async<F: std::future::Future>(f: F) -> Result<F::Output, Panicked> {
    let _quiet = Quiet::new();
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| match caught(|| f.as_mut().poll(cx)) {
        Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
        Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
        Err(e) => std::task::Poll::Ready(Err(e)),
    })
    .await
}
