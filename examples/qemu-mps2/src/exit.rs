//! Ends the QEMU session with an exit code the test script checks, through semihosting's
//! `SYS_EXIT_EXTENDED` (plain `SYS_EXIT` on 32-bit Arm carries only success or failure).

/// `MALLORN OK`: the update was applied, booted on trial and confirmed.
pub const OK: u32 = 0;
/// `MALLORN REJECTED`: the device refused the bundle and the old model is still active.
pub const REJECTED: u32 = 2;
/// `MALLORN FAILED`: anything else (a refused bundle that left the device in a wrong state,
/// a result that does not match, a broken set-up).
pub const FAILED: u32 = 3;
/// A panic.
pub const PANIC: u32 = 101;

const SYS_EXIT_EXTENDED: usize = 0x20;
const ADP_STOPPED_APPLICATION_EXIT: u32 = 0x20026;

/// Stops the emulator; QEMU exits with `code`.
pub fn exit(code: u32) -> ! {
    let block = [ADP_STOPPED_APPLICATION_EXIT, code];
    // SAFETY: SYS_EXIT_EXTENDED takes a pointer to a two-word block (reason, subcode).
    unsafe {
        cortex_m_semihosting::syscall(SYS_EXIT_EXTENDED, &block);
    }
    // Only reached without a semihosting host (on hardware without a debugger).
    loop {
        cortex_m::asm::wfi();
    }
}
