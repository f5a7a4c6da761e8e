//! Where results go: plain lines on standard output, a progress bar on a terminal for long runs,
//! or one JSON document with `--json`.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Runs with at least this many steps get a progress bar (on a terminal).
const BAR_THRESHOLD: u64 = 20;

/// The output of one command.
#[derive(Debug)]
pub struct Output {
    json: bool,
    bar: Option<ProgressBar>,
}

impl Output {
    /// Lines, or JSON only when `json` is set.
    pub fn new(json: bool) -> Output {
        Output { json, bar: None }
    }

    /// Prints a line of the human-readable output (nothing with `--json`). A closed standard
    /// output (`| head`) is not an error worth stopping for.
    pub fn line(&self, text: &str) {
        if self.json {
            return;
        }
        let print = || {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        };
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Prints the JSON document (only with `--json`).
    pub fn json(&self, value: &impl serde::Serialize) {
        if self.json {
            let mut stdout = std::io::stdout().lock();
            // Serializing our own reports into JSON cannot fail; a closed stdout is ignored.
            let _ = serde_json::to_writer(&mut stdout, value);
            let _ = writeln!(stdout);
        }
    }

    /// Shows a progress bar on standard error for a run of `steps` steps, when standard error
    /// is a terminal and the run is long enough to need one.
    pub fn start_progress(&mut self, steps: u64, message: &str) {
        if steps < BAR_THRESHOLD || !std::io::stderr().is_terminal() {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(steps), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta} left)")
        {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(200));
        self.bar = Some(bar);
    }

    /// Shows the bytes of a download on a progress bar (on a terminal): `bytes` received so
    /// far, of `total` when the server said. The first call starts the bar.
    pub fn download_progress(&mut self, bytes: u64, total: Option<u64>) {
        if self.bar.is_none() && std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let template = if total.is_some() {
                "downloading [{bar:40}] {bytes}/{total_bytes} ({eta} left)"
            } else {
                "downloading {bytes} ({bytes_per_sec})"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_position(bytes);
        }
    }

    /// Advances the progress bar, if any.
    pub fn advance(&self, steps: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(steps);
        }
    }

    /// Removes the progress bar, if any.
    pub fn finish_progress(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}
