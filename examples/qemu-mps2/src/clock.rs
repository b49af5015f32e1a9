//! Counts executed instructions with SysTick. QEMU emulates no cycle counter (DWT CYCCNT),
//! but under `-icount shift=0` its virtual clock advances exactly 1 ns per instruction and
//! SysTick counts the MPS2's 25 MHz system clock in that virtual time: one tick per 40
//! instructions. Without `-icount` the same ticks measure host speed, not the firmware.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::SYST;
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m_rt::exception;

/// SysTick input clock of the MPS2 AN386 (QEMU's `SYSCLK_FRQ`).
pub const SYSCLK_HZ: u64 = 25_000_000;
/// Instructions per SysTick tick under `-icount shift=0` (1 ns each).
pub const INSTRUCTIONS_PER_TICK: u64 = 1_000_000_000 / SYSCLK_HZ;
const RELOAD: u32 = 0x00FF_FFFF;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// A free-running tick counter.
pub struct Clock {
    _syst: SYST,
}

impl Clock {
    /// Starts SysTick on the processor clock, interrupting on every wrap.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        Self { _syst: syst }
    }

    /// Ticks since [`Clock::start`].
    pub fn ticks(&self) -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Acquire);
            let current = SYST::get_current();
            // A wrap between the two reads shows as a changed count: read again.
            if wraps == WRAPS.load(Ordering::Acquire) {
                return u64::from(wraps) * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
            }
        }
    }
}

/// Instructions executed over `ticks` (see the module doc for the assumption).
pub fn instructions(ticks: u64) -> u64 {
    ticks * INSTRUCTIONS_PER_TICK
}
