//! The panic handler: reports where and exits with [`crate::exit::PANIC`]. It prints the
//! location without `core::fmt` (the runtime is built never to panic; if it does, the place
//! is what matters).

use core::panic::PanicInfo;

use crate::exit::{PANIC, exit};
use crate::hex::{decimal, print};

#[panic_handler]
fn panic(info: &PanicInfo) -> ! {
    print(b"MALLORN PANIC");
    if let Some(location) = info.location() {
        print(b" at ");
        print(location.file().as_bytes());
        print(b":");
        print(decimal(location.line(), &mut [0; 10]));
    }
    print(b"\n");
    exit(PANIC)
}
