//! An async NOR flash for tests of the `async` feature: any blocking flash (usually a
//! [`SimFlash`](crate::sim::SimFlash)) behind the `embedded_storage_async` traits, each of
//! whose operations is pending a set number of polls before it runs, as a driver waiting for
//! its DMA or completion interrupt is.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};
use embedded_storage_async::nor_flash as asynch;

/// A blocking flash whose operations each return `Pending` `pending` times first.
#[derive(Debug, Clone)]
pub struct PendingFlash<F> {
    flash: F,
    pending: u32,
    polls: usize,
}

impl<F> PendingFlash<F> {
    /// Wraps `flash`; every operation is pending `pending` polls before it runs.
    pub fn new(flash: F, pending: u32) -> Self {
        Self {
            flash,
            pending,
            polls: 0,
        }
    }

    /// Polls of operations so far (an operation takes `pending + 1`).
    pub fn polls(&self) -> usize {
        self.polls
    }

    /// The blocking flash.
    pub fn inner(&self) -> &F {
        &self.flash
    }

    /// The blocking flash, mutably.
    pub fn inner_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Waits out the operation's pending polls.
    fn not_yet(&mut self) -> NotYet<'_> {
        NotYet {
            left: self.pending,
            polls: &mut self.polls,
        }
    }
}

/// Pending `left` more polls (each waking its waker, as a driver's interrupt would), then ready.
struct NotYet<'a> {
    left: u32,
    polls: &'a mut usize,
}

impl Future for NotYet<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        *this.polls += 1;
        if this.left == 0 {
            return Poll::Ready(());
        }
        this.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<F: ErrorType> ErrorType for PendingFlash<F> {
    type Error = F::Error;
}

impl<F: ReadNorFlash> asynch::ReadNorFlash for PendingFlash<F> {
    const READ_SIZE: usize = F::READ_SIZE;

    async fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        self.not_yet().await;
        self.flash.read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        self.flash.capacity()
    }
}

impl<F: NorFlash> asynch::NorFlash for PendingFlash<F> {
    const WRITE_SIZE: usize = F::WRITE_SIZE;
    const ERASE_SIZE: usize = F::ERASE_SIZE;

    async fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        self.not_yet().await;
        self.flash.erase(from, to)
    }

    async fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        self.not_yet().await;
        self.flash.write(offset, bytes)
    }
}
