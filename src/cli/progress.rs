//! Progress bars for the long commands (`import`, `sync` of large rosters): drawn on
//! standard error when it is a terminal, never otherwise (a cron job's mail, a pipe).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Below this many steps a bar would only flicker.
const WORTH_A_BAR: u64 = 10_000;

/// A bar of `len` steps saying `what`; hidden when stderr is not a terminal.
pub(super) fn bar(len: u64, what: &'static str) -> ProgressBar {
    if len < WORTH_A_BAR || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {human_pos}/{human_len} ({eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

/// A bar over the bytes of a source being read.
pub(super) fn reading(bytes: usize) -> ProgressBar {
    let bar = bar(bytes as u64, "reading");
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>10} [{bar:40}] {binary_bytes}/{binary_total_bytes} ({eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Every `STEP` items, the bar moves (a draw per item would cost more than the work).
pub(super) const STEP: u64 = 4096;
