//! Progress on stderr for long single-file work (`diff`, `apply`): only for people at a
//! terminal, only for inputs big enough to take a while, never in JSON mode.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::MessageFormat;

/// Inputs smaller than this finish before a spinner would be noticed.
pub const MIN_BYTES: u64 = 4 << 20;

/// A ticking spinner with the elapsed time, labelled `what` and the input size, when stderr is
/// a terminal, the output is for people and `bytes` is at least [`MIN_BYTES`]. The engine
/// reports no progress within one bundle, so this shows that work goes on, not how much is
/// left. Finish it with `finish_and_clear`.
pub fn spinner(format: MessageFormat, bytes: u64, what: &str) -> Option<ProgressBar> {
    if format != MessageFormat::Human || bytes < MIN_BYTES || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("a valid template"),
    );
    bar.set_message(format!(
        "{what} {:.1} MiB",
        bytes as f64 / f64::from(1 << 20)
    ));
    bar.enable_steady_tick(Duration::from_millis(100));
    Some(bar)
}
