//! The VMM's event loop: an `event-manager` [`EventManager`](event_manager::EventManager) on the main thread, woken by
//! `vmm-sys-util` [`EventFd`]s that the vCPU thread signals.
//!
//! The vCPU thread sends [`Msg`]s over one channel (so their order is kept) and signals the
//! eventfd of the message's kind: `console` (L2 terminal bytes and VMM log lines), `exit`
//! (the L2 asked to exit: its status and the exit statistics), `stop` (the vCPU thread is
//! done, normally or with an error; the loop ends). Whatever fd wakes the loop, it drains
//! the channel in order first, so the output does not depend on the order epoll reports
//! ready fds in.

use crate::report::Report;
use event_manager::{EventOps, EventSet, Events, MutEventSubscriber};
use std::io::Write;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use vmm_sys_util::eventfd::{EventFd, EFD_NONBLOCK};

/// What the vCPU thread tells the loop.
#[derive(Debug)]
pub enum Msg {
    /// Bytes the L2 wrote to its console.
    Console(Vec<u8>),
    /// A line from the VMM (device trace, notices).
    Log(String),
    /// The L2 exited.
    Exit(Box<Report>),
    /// The vCPU thread failed.
    Failed(String),
}

/// `data` values of the three registered fds.
const CONSOLE: u32 = 1;
const EXIT: u32 = 2;
const STOP: u32 = 3;

/// The vCPU thread's end of the link (`Send`: eventfds are duplicated file descriptors).
#[derive(Debug)]
pub struct VcpuLink {
    tx: Sender<Msg>,
    console: EventFd,
    exit: EventFd,
    stop: EventFd,
}

impl VcpuLink {
    fn send(&self, msg: Msg, fd: &EventFd) {
        // A closed channel means the loop is gone: nobody is left to tell.
        if self.tx.send(msg).is_ok() {
            let _ = fd.write(1);
        }
    }

    /// L2 console output.
    pub fn console(&self, bytes: Vec<u8>) {
        self.send(Msg::Console(bytes), &self.console);
    }

    /// A VMM log line (no newline).
    pub fn log(&self, line: String) {
        self.send(Msg::Log(line), &self.console);
    }

    /// The L2's exit.
    pub fn exit(&self, report: Report) {
        self.send(Msg::Exit(Box::new(report)), &self.exit);
    }

    /// The vCPU thread is done; `error` if it failed.
    pub fn stop(&self, error: Option<String>) {
        if let Some(e) = error {
            let _ = self.tx.send(Msg::Failed(e));
        }
        let _ = self.stop.write(1);
    }
}

/// The loop's subscriber: prints what the vCPU thread sends and remembers the outcome.
#[derive(Debug)]
pub struct Printer<W: Write> {
    rx: Receiver<Msg>,
    console_fd: EventFd,
    exit_fd: EventFd,
    stop_fd: EventFd,
    out: W,
    /// Everything printed.
    pub transcript: String,
    /// The L2's console output alone.
    pub console: Vec<u8>,
    /// The exit report, once the L2 exited.
    pub report: Option<Report>,
    /// The vCPU thread's error, if it failed.
    pub failure: Option<String>,
    /// The vCPU thread is done.
    pub stopped: bool,
    /// The first error writing the output.
    pub write_error: Option<std::io::ErrorKind>,
    /// The console has an unterminated line.
    mid_line: bool,
}

/// Makes the link and the loop's subscriber, writing to `out`.
///
/// # Errors
/// When an eventfd cannot be made or duplicated.
pub fn link<W: Write>(out: W) -> std::io::Result<(VcpuLink, Printer<W>)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let console_fd = EventFd::new(EFD_NONBLOCK)?;
    let exit_fd = EventFd::new(EFD_NONBLOCK)?;
    let stop_fd = EventFd::new(EFD_NONBLOCK)?;
    let link = VcpuLink {
        tx,
        console: console_fd.try_clone()?,
        exit: exit_fd.try_clone()?,
        stop: stop_fd.try_clone()?,
    };
    Ok((
        link,
        Printer {
            rx,
            console_fd,
            exit_fd,
            stop_fd,
            out,
            transcript: String::new(),
            console: Vec::new(),
            report: None,
            failure: None,
            stopped: false,
            write_error: None,
            mid_line: false,
        },
    ))
}

impl<W: Write> Printer<W> {
    /// Prints `text` (and keeps it in the transcript).
    pub fn emit(&mut self, text: &str) {
        self.transcript.push_str(text);
        if self.write_error.is_none() {
            if let Err(e) = self
                .out
                .write_all(text.as_bytes())
                .and_then(|()| self.out.flush())
            {
                self.write_error = Some(e.kind());
            }
        }
    }

    /// Prints a whole line, after ending an unterminated console line.
    pub fn line(&mut self, line: &str) {
        if self.mid_line {
            self.emit("\n");
            self.mid_line = false;
        }
        self.emit(line);
        self.emit("\n");
    }

    /// Handles every message sent so far, in order.
    fn drain(&mut self) {
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Console(bytes)) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    self.console.extend_from_slice(&bytes);
                    if let Some(&last) = bytes.last() {
                        self.mid_line = last != b'\n';
                    }
                    self.emit(&text);
                }
                Ok(Msg::Log(line)) => self.line(&format!("[vmm] {line}")),
                Ok(Msg::Exit(report)) => {
                    let text = report.to_string();
                    self.line(&format!("[vmm] L2 exited with status {}", report.status));
                    self.emit("\n");
                    self.emit(&text);
                    self.report = Some(*report);
                }
                Ok(Msg::Failed(e)) => {
                    self.line(&format!("[vmm] vCPU failed: {e}"));
                    self.failure = Some(e);
                }
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    self.stopped = true;
                    return;
                }
            }
        }
    }
}

impl<W: Write> MutEventSubscriber for Printer<W> {
    fn process(&mut self, events: Events, _ops: &mut EventOps) {
        // Reset whichever counter woke us (non-blocking: 0 pending is fine).
        let fd = match events.data() {
            CONSOLE => &self.console_fd,
            EXIT => &self.exit_fd,
            _ => &self.stop_fd,
        };
        let _ = fd.read();
        self.drain();
        if events.data() == STOP {
            self.stopped = true;
        }
    }

    fn init(&mut self, ops: &mut EventOps) {
        for (fd, data) in [
            (&self.console_fd, CONSOLE),
            (&self.exit_fd, EXIT),
            (&self.stop_fd, STOP),
        ] {
            if let Err(e) = ops.add(Events::with_data(fd, data, EventSet::IN)) {
                // `init` cannot fail: remember it, the loop stops at once.
                self.failure = Some(format!("event loop: cannot watch an eventfd: {e}"));
                self.stopped = true;
            }
        }
    }
}
