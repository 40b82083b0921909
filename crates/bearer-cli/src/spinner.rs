//! A spinner on stderr while a fetch is slow. Twenty lines instead of a terminal-UI crate:
//! it only ever draws one character and clears its line.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Shown only when stderr is a terminal and the work takes longer than this.
const DELAY: Duration = Duration::from_millis(300);
const FRAMES: [char; 4] = ['|', '/', '-', '\\'];

/// Spins until dropped.
pub(crate) struct Spinner {
    stop: Option<(mpsc::Sender<()>, JoinHandle<()>)>,
}

impl Spinner {
    /// Starts the spinner's clock; draws nothing unless stderr is a terminal.
    pub(crate) fn start(message: String) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { stop: None };
        }
        let (tx, rx) = mpsc::channel::<()>();
        let handle = std::thread::spawn(move || {
            let mut wait = DELAY;
            let mut drawn = false;
            for frame in FRAMES.iter().cycle() {
                match rx.recv_timeout(wait) {
                    Err(RecvTimeoutError::Timeout) => {
                        let _ = write!(std::io::stderr(), "\r{frame} {message}");
                        drawn = true;
                        wait = Duration::from_millis(100);
                    }
                    _ => break,
                }
            }
            if drawn {
                let _ = write!(std::io::stderr(), "\r\x1b[2K");
            }
        });
        Self { stop: Some((tx, handle)) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some((tx, handle)) = self.stop.take() {
            drop(tx);
            let _ = handle.join();
        }
    }
}
