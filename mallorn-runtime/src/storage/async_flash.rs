//! Async flash drivers (`embedded_storage_async`, the traits embassy's HALs implement) under
//! the one update state machine: [`AsyncFlash`] presents such a driver as a blocking
//! [`NorFlash`], so [`Updater`](crate::storage::Updater), the journal and the applier run
//! unchanged over it (one copy of the update logic, whatever the driver).
//!
//! Each flash operation the runtime issues is driven to completion where it is issued: its
//! future is polled until it is ready, calling the wait hook between polls (a spin hint by
//! default; `cortex_m::asm::wfe` sleeps until the driver's interrupt instead). The firmware's
//! executor runs its other tasks between the runtime's calls (between fragments of a bundle),
//! not during one flash operation. A driver whose future can only complete when another task
//! of the same executor runs (a flash shared through an async mutex that another task holds)
//! would wait forever: give the updater the flash for the duration of each call.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use embedded_storage_async::nor_flash as asynch;

/// An `embedded_storage_async` NOR flash as the blocking [`NorFlash`] the updater takes.
///
/// ```ignore
/// let flash = AsyncFlash::new(qspi_flash).with_wait(cortex_m::asm::wfe);
/// let mut updater = Updater::open(flash, LAYOUT)?;
/// ```
#[derive(Debug)]
pub struct AsyncFlash<F> {
    flash: F,
    wait: fn(),
}

impl<F> AsyncFlash<F> {
    /// Wraps `flash`; polls its operations in a spin loop.
    pub fn new(flash: F) -> Self {
        Self {
            flash,
            wait: core::hint::spin_loop,
        }
    }

    /// Calls `wait` between two polls of an unfinished flash operation (for example
    /// `cortex_m::asm::wfe`, which sleeps until the driver's completion interrupt).
    pub fn with_wait(self, wait: fn()) -> Self {
        Self { wait, ..self }
    }

    /// The driver.
    pub fn inner(&self) -> &F {
        &self.flash
    }

    /// The driver, mutably.
    pub fn inner_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Gives the driver back.
    pub fn into_inner(self) -> F {
        self.flash
    }
}

/// Polls `operation` until it is ready, calling `wait` between polls. Nothing here wakes:
/// the poll loop re-checks after every `wait` whatever the driver's waker was told.
fn complete<T>(wait: fn(), operation: impl Future<Output = T>) -> T {
    let mut operation = pin!(operation);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(done) = operation.as_mut().poll(&mut cx) {
            return done;
        }
        wait();
    }
}

impl<F: ErrorType> ErrorType for AsyncFlash<F> {
    type Error = F::Error;
}

impl<F: asynch::ReadNorFlash> ReadNorFlash for AsyncFlash<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        complete(self.wait, self.flash.read(offset, bytes))
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl<F: asynch::NorFlash> NorFlash for AsyncFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        complete(self.wait, self.flash.erase(from, to))
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        complete(self.wait, self.flash.write(offset, bytes))
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use core::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::sim::{PendingFlash, SimFlash};

    static WAITS: AtomicUsize = AtomicUsize::new(0);

    fn count_wait() {
        WAITS.fetch_add(1, Ordering::Relaxed);
    }

    #[test]
    fn every_operation_is_polled_to_completion_through_the_wait_hook() {
        let sim = SimFlash::<4, 1024>::new(4096);
        let mut flash = AsyncFlash::new(PendingFlash::new(sim, 3)).with_wait(count_wait);
        flash.erase(0, 1024).unwrap();
        flash.write(8, &[1, 2, 3, 4]).unwrap();
        let mut back = [0u8; 4];
        flash.read(8, &mut back).unwrap();
        assert_eq!(back, [1, 2, 3, 4]);
        // Three operations, each pending three times before it completes.
        assert_eq!(flash.inner().polls(), 3 * 4);
        assert_eq!(WAITS.load(Ordering::Relaxed), 3 * 3);
        assert_eq!(flash.capacity(), 4096);
        assert_eq!(
            <AsyncFlash<PendingFlash<SimFlash<4, 1024>>> as NorFlash>::ERASE_SIZE,
            1024
        );
    }

    #[test]
    fn driver_errors_come_back_as_they_are() {
        let sim = SimFlash::<4, 1024>::new(4096);
        let mut flash = AsyncFlash::new(PendingFlash::new(sim, 1));
        assert!(flash.write(1, &[0; 4]).is_err(), "unaligned write accepted");
        assert!(flash.erase(0, 5000).is_err(), "erase past the end accepted");
    }
}
