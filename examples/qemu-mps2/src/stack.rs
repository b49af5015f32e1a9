//! Peak stack use by stack painting: cortex-m-rt's `paint-stack` fills the whole stack with a
//! pattern before `main`; the deepest word no longer holding it marks the high-water mark.
//! [`restart`] paints the free part again, so one phase of the program can be measured.

use cortex_m_rt::STACK_PAINT_VALUE;

unsafe extern "C" {
    /// Top of the stack (its first push lands just below).
    static _stack_start: u32;
    /// Lowest address the stack may grow to (end of static RAM).
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    (
        &raw const _stack_end as usize,
        &raw const _stack_start as usize,
    )
}

/// Bytes of stack reserved (from the end of static RAM to the top of RAM).
pub fn size() -> usize {
    let (end, start) = bounds();
    start - end
}

/// Most bytes of stack in use at any time since reset.
pub fn peak() -> usize {
    let (end, start) = bounds();
    let mut at = end;
    while at < start {
        // SAFETY: `at` is a word-aligned address inside the stack region, which is RAM.
        let word = unsafe { core::ptr::read_volatile(at as *const u32) };
        if word != STACK_PAINT_VALUE {
            break;
        }
        at += 4;
    }
    start - at
}

/// Paints the stack below the current stack pointer again: the next [`peak`] reports the
/// most stack in use since this call (never less than what is in use now).
pub fn restart() {
    let (end, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize;
    // Everything below the stack pointer is free; stay one word clear of it.
    let mut at = end;
    while at + 4 < sp {
        // SAFETY: `at` is a word-aligned address of the stack region below the stack
        // pointer, which no live frame uses; this loop keeps its state in registers or
        // in its own frame, above the stack pointer.
        unsafe { core::ptr::write_volatile(at as *mut u32, STACK_PAINT_VALUE) };
        at += 4;
    }
}
