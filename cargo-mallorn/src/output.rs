//! The one place command data reaches stdout ([`out!`] and [`outln!`]) and diagnostics reach
//! stderr ([`diag!`] and [`diagln!`]); `clippy::print_stdout` and `clippy::print_stderr` are
//! denied everywhere else. A reader that closes stdout early, as in
//! `cargo mallorn plan | head -1`, has everything it wanted: the process ends quietly with
//! exit code 0 instead of panicking. Any other stdout write error ends it with exit code 1.
//! A closed stderr, as in `cargo mallorn check 2>&1 | head -1`, loses the rest of the
//! diagnostics but changes nothing else: the command ends with its own exit code.

use std::io::Write;

/// Writes formatted data to stdout, flushed, so a closed pipe is noticed here.
#[allow(clippy::print_stdout, reason = "the one home of stdout writing")]
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        write_diagnostic(format_args!("error: cannot write to stdout: {error}\n"));
        std::process::exit(i32::from(crate::exit::FAILURE));
    }
}

/// Writes formatted diagnostics to stderr, flushed. A write error is dropped: stderr is where
/// it would be reported, and losing diagnostics must not turn a command's outcome (its exit
/// code) into a panic.
#[allow(clippy::print_stderr, reason = "the one home of stderr writing")]
pub fn write_diagnostic(args: std::fmt::Arguments<'_>) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(args).and_then(|()| stderr.flush());
}

/// `print!` to stdout through [`write`].
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write(format_args!($($arg)*))
    };
}

/// `println!` to stdout through [`write`].
macro_rules! outln {
    () => {
        $crate::output::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `eprint!` through [`write_diagnostic`].
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::output::write_diagnostic(format_args!($($arg)*))
    };
}

/// `eprintln!` through [`write_diagnostic`].
macro_rules! diagln {
    () => {
        $crate::output::write_diagnostic(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_diagnostic(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// One line of JSON output for `value`, its object keys sorted at every level: the order the
/// CLI's JSON has always had, whatever order a type declares its fields in.
pub fn json_line<T: serde::Serialize>(value: &T) -> String {
    sorted_json(value).to_string()
}

/// [`json_line`], pretty-printed over several lines, with a final newline.
pub fn json_pretty<T: serde::Serialize>(value: &T) -> String {
    let mut text = serde_json::to_string_pretty(&sorted_json(value)).unwrap_or_default();
    text.push('\n');
    text
}

/// `value` as a JSON tree (`serde_json::Map` keeps its keys sorted).
fn sorted_json<T: serde::Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("plain data serializes")
}
