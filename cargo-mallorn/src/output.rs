//! The one place command data reaches stdout ([`out!`] and [`outln!`]; `clippy::print_stdout`
//! is denied everywhere else). A reader that closes the pipe early, as in
//! `cargo mallorn plan | head -1`, has everything it wanted: the process ends quietly with
//! exit code 0 instead of panicking. Any other write error ends it with exit code 1.

use std::io::Write;

/// Writes formatted data to stdout, flushed, so a closed pipe is noticed here.
#[allow(clippy::print_stdout, reason = "the one home of stdout writing")]
pub fn write(args: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = stdout.write_fmt(args).and_then(|()| stdout.flush()) {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: cannot write to stdout: {error}");
        std::process::exit(i32::from(crate::exit::FAILURE));
    }
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
